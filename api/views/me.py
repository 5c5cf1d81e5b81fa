"""Who am I: the signed-in user's employee record and roles."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from hr.models import RoleAssignment
from hr.selectors import employee_of, open_duty_restrictions


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        username = serializers.CharField()
        employee_no = serializers.CharField(allow_null=True)
        name = serializers.CharField(allow_null=True)
        org_unit = serializers.CharField(allow_null=True)
        roles = serializers.ListField(child=serializers.DictField())
        is_eligible_for_duty = serializers.BooleanField(
            allow_null=True,
            help_text="false while a credential of mine expired unrenewed (null: no employee)",
        )
        duty_restrictions = serializers.ListField(
            child=serializers.DictField(),
            help_text="roles I may not work in: {credential_kind, credential, since, reason}",
        )

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        employee = employee_of(request.user)
        roles = RoleAssignment.objects.filter(user=request.user).select_related("org_unit")
        restrictions = list(open_duty_restrictions(employee)) if employee else []
        return Response(
            self.OutputSerializer(
                {
                    "username": request.user.get_username(),
                    "employee_no": employee.employee_no if employee else None,
                    "name": employee.name if employee else None,
                    "org_unit": employee.org_unit.code if employee else None,
                    "roles": [
                        {"role": r.role, "org_unit": r.org_unit.code}
                        for r in roles.order_by("role", "org_unit__code")
                    ],
                    "is_eligible_for_duty": not restrictions if employee else None,
                    "duty_restrictions": [
                        {
                            "credential_kind": r.credential.kind,
                            "credential": r.credential.number,
                            "since": r.started_at.isoformat(),
                            "reason": r.reason,
                        }
                        for r in restrictions
                    ],
                }
            ).data
        )
