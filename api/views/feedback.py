"""Employee voice 心声直达: submit feedback (named or anonymous), follow it by receipt code.

Feedback is the one process that is not started through `POST /instances/start`: the
submission endpoint hands the request to `hr.services.feedback.feedback_submit`, which for an
anonymous submission never records who sent it. Nothing here logs the request user.
"""

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
    """Slows down anyone trying receipt codes at random (keyed by client address only)."""

    scope = "feedback_receipt"
    rate = "60/minute"

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


class FeedbackStatusApi(APIView):
    """Status and outcome of the feedback a receipt code belongs to (nothing else)."""

    permission_classes = [AllowAny]
    throttle_classes = [ReceiptLookupThrottle]

    class OutputSerializer(serializers.Serializer):
        receipt_code = serializers.CharField()
        status = serializers.ChoiceField(choices=FeedbackTicket.Status.choices)
        outcome = serializers.CharField(allow_null=True, help_text="what was done, when resolved")
        reason = serializers.CharField(allow_null=True, help_text="why, when not resolved")
        follow_up_plan = serializers.CharField(allow_null=True, help_text="when not resolved")

    @extend_schema(responses=OutputSerializer)
    def get(self, request, receipt_code: str):
        ticket = feedback.feedback_ticket_by_receipt(receipt_code=receipt_code)
        is_resolved = ticket.status == FeedbackTicket.Status.RESOLVED
        is_not_resolved = ticket.status == FeedbackTicket.Status.NOT_RESOLVED
        return Response(
            self.OutputSerializer(
                {
                    "receipt_code": ticket.receipt_code,
                    "status": ticket.status,
                    "outcome": ticket.resolution if is_resolved else None,
                    "reason": ticket.resolution if is_not_resolved else None,
                    "follow_up_plan": ticket.follow_up_plan if is_not_resolved else None,
                }
            ).data
        )
