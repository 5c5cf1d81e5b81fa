"""Family care 家庭关怀: HR asks for a care gift for an employee's ill family member.

Birthday reminders need no endpoint: a daily scan starts them (workers.family_birthday_reminders,
`manage.py family_birthday_reminders`); the manager works the greeting task in the inbox.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers import InstanceOut, StrictInput
from api.views.instances import instance_out
from hr.services import family


class CareGiftStartApi(APIView):
    """Start a care gift 关怀慰问 (clinic HR of the employee's clinic, or group HR); group HR
    approves it in the `care_gift` process."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(StrictInput):
        employee_no = serializers.CharField(max_length=32)
        family_member_id = serializers.IntegerField(min_value=1)
        gift = serializers.CharField(max_length=200)
        amount = serializers.DecimalField(
            max_digits=10, decimal_places=2, help_text="CNY, more than 0, at most 2000"
        )
        note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)

    @extend_schema(request=InputSerializer, responses={201: InstanceOut})
    def post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        instance = family.care_gift_start(user=request.user, **payload.validated_data)
        return Response(instance_out(instance), status=status.HTTP_201_CREATED)
