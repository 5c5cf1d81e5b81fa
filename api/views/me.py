"""Who am I: the signed-in user's employee record and roles."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.parsers import JSONParser
from hr.models import RoleAssignment
from hr.selectors import employee_of


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        username = serializers.CharField()
        employee_no = serializers.CharField(allow_null=True)
        name = serializers.CharField(allow_null=True)
        org_unit = serializers.CharField(allow_null=True)
        roles = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        employee = employee_of(request.user)
        roles = RoleAssignment.objects.filter(user=request.user).select_related("org_unit")
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
                }
            ).data
        )


class TokenApi(ObtainAuthToken):
    """Exchange a username and password for an API token (JSON body)."""

    # JSON only, under the API's text rules: DRF's own view also takes forms.
    parser_classes = [JSONParser]
