"""In-app notifications: my list, mark one or all read."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers import StrictInput
from workflows import notifications, selectors
from workflows.models import Notification


class NotificationOut(serializers.ModelSerializer):
    task = serializers.IntegerField(source="human_task_id", allow_null=True)
    is_read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "title",
            "body",
            "instance",
            "task",
            "created_at",
            "read_at",
            "is_read",
        ]

    def get_is_read(self, note) -> bool:
        return note.read_at is not None


class NotificationListApi(ListAPIView):
    """My notifications, newest first; `?unread=true` for the unread ones only."""

    permission_classes = [IsAuthenticated]
    serializer_class = NotificationOut
    filter_backends = []

    class FilterSerializer(StrictInput):
        unread = serializers.BooleanField(required=False, default=False)
        page = serializers.IntegerField(required=False, min_value=1)
        page_size = serializers.IntegerField(required=False, min_value=1, max_value=200)

    @extend_schema(parameters=[OpenApiParameter("unread", bool)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        filters = self.FilterSerializer(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        return selectors.notification_list(
            self.request.user, unread_only=filters.validated_data["unread"]
        )


class NotificationReadApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=NotificationOut)
    def post(self, request, notification_id: int):
        note = notifications.notification_mark_read(
            notification_id=notification_id, user=request.user
        )
        return Response(NotificationOut(note).data)


class NotificationReadAllApi(APIView):
    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        marked = serializers.IntegerField()

    @extend_schema(request=None, responses=OutputSerializer)
    def post(self, request):
        marked = notifications.notification_mark_all_read(user=request.user)
        return Response({"marked": marked})
