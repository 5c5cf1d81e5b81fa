"""Employee voice 心声直达: submit feedback (named or anonymous), follow it by receipt code.

Feedback is the one process that is not started through `POST /instances/start`: the
submission endpoint hands the request to `hr.services.feedback.feedback_submit`, which for an
anonymous submission never records who sent it. Nothing here logs the request user.
"""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from api.serializers import StrictInput
from hr.models import FeedbackTicket
from hr.services import feedback


class ReceiptLookupThrottle(SimpleRateThrottle):
    """Slows down anyone trying receipt codes at random: lookups per client address (the
    address DRF derives with NUM_PROXIES), at DEFAULT_THROTTLE_RATES["feedback_receipt"];
    over it, 429 with Retry-After. Every lookup counts, found or not."""

    scope = "feedback_receipt"

    def get_rate(self) -> str:
        # Read when used, not when imported, so the settings of the moment apply.
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][self.scope]

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class FeedbackSubmitApi(APIView):
    """Submit feedback; the answer's receipt code is the way to follow it."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(StrictInput):
        text = serializers.CharField(max_length=5000)
        is_anonymous = serializers.BooleanField()
        category = serializers.ChoiceField(
            choices=FeedbackTicket.Category.choices, required=False, default=""
        )
        clinic = serializers.CharField(
            max_length=64, required=False, default="", help_text="clinic org unit code"
        )

    class OutputSerializer(serializers.Serializer):
        receipt_code = serializers.CharField()
        status = serializers.ChoiceField(choices=FeedbackTicket.Status.choices)
        instance_id = serializers.IntegerField(
            allow_null=True, help_text="named feedback only; null when anonymous"
        )

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        params = payload.validated_data
        submission = feedback.feedback_submit(
            user=request.user,
            text=params["text"],
            is_anonymous=params["is_anonymous"],
            category=params["category"],
            clinic_code=params["clinic"],
        )
        ticket = submission.ticket
        return Response(
            self.OutputSerializer(
                {
                    "receipt_code": ticket.receipt_code,
                    "status": ticket.status,
                    "instance_id": None if ticket.is_anonymous else submission.instance.pk,
                }
            ).data,
            status=status.HTTP_201_CREATED,
        )


class FeedbackReceiptApi(APIView):
    """Status and public answers of the feedback a receipt code belongs to (nothing else).

    The code travels in the body, never in the URL: URLs end up in access logs beside the
    client's address. No sign-in (anonymous senders follow their feedback with the code
    alone); throttled per client address. A code that is wrong in any way answers the same
    404."""

    permission_classes = [AllowAny]
    throttle_classes = [ReceiptLookupThrottle]

    class InputSerializer(StrictInput):
        receipt_code = serializers.CharField(max_length=64, help_text="e.g. FB-7KQ2-M9XD-4RTA")

    class OutputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=FeedbackTicket.Status.choices)
        outcome = serializers.CharField(
            allow_null=True, help_text="what was done, when resolved (as the handler wrote it)"
        )
        reason = serializers.CharField(
            allow_null=True, help_text="why, when not resolved (as the handler wrote it)"
        )
        follow_up_plan = serializers.CharField(
            allow_null=True, help_text="when not resolved (as the handler wrote it)"
        )
        question = serializers.CharField(
            allow_null=True,
            help_text="the handler's question while it waits for the sender's answer (as the "
            "handler typed it); answer it with POST /api/v1/feedback/reply",
        )

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        answer = feedback.feedback_receipt_answer(
            receipt_code=payload.validated_data["receipt_code"]
        )
        return Response(self.OutputSerializer(answer).data)


class FeedbackReplyApi(APIView):
    """The sender answers the handler's question with the receipt code (anonymous senders
    too; nothing records who answered). Throttled together with the receipt lookup, per
    client address. 404 for a wrong code, 409 when no question is waiting."""

    permission_classes = [AllowAny]
    throttle_classes = [ReceiptLookupThrottle]

    class InputSerializer(StrictInput):
        receipt_code = serializers.CharField(max_length=64, help_text="e.g. FB-7KQ2-M9XD-4RTA")
        text = serializers.CharField(max_length=feedback.REPLY_MAX_LENGTH)

    @extend_schema(request=InputSerializer, responses=FeedbackReceiptApi.OutputSerializer)
    def post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        answer = feedback.feedback_reply(**payload.validated_data)
        return Response(FeedbackReceiptApi.OutputSerializer(answer).data)


@extend_schema(exclude=True)
class FeedbackReceiptInPathApi(APIView):
    """The former `GET /feedback/{receipt_code}`: gone, for every method, without looking the
    code up, and kept out of the request log (which would write the code beside the path)."""

    permission_classes = [AllowAny]
    authentication_classes = []

    def get(self, request, *args, **kwargs):
        response = Response(
            {
                "detail": "receipt codes are not accepted in the URL: send "
                '{"receipt_code": "..."} in the body of POST /api/v1/feedback/receipt'
            },
            status=status.HTTP_410_GONE,
        )
        # Django's request log writes the path of every 4xx answer; this path holds a code.
        response._has_been_logged = True
        return response

    def http_method_not_allowed(self, request, *args, **kwargs):
        return self.get(request)
