"""Employee records, with private fields only for those allowed, and the log of who read them.

Work data (name, unit, position ...) goes to everyone who sees the record; the private
fields (national ID number, phone, bank account, address, family members) only to the
employee and HR over them, and each time they are shown the access log gets a row.
"""

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import IsAccessLogReader
from api.serializers import DateTimeField, StrictInput
from hr.models import Employee, FamilyMember, SensitiveAccess
from hr.selectors import access_log_visible_to, employees_visible_to, may_see_private
from hr.services.privacy import access_record, employee_update_private
from workflows.exceptions import NotFound

# What the access log names as read when the private part of a record is shown.
PRIVATE_READ = [*Employee.PRIVATE_FIELDS, "family"]


class EmployeeOut(serializers.ModelSerializer):
    """Work data of an employee record."""

    org_unit = serializers.CharField(source="org_unit.code")
    manager = serializers.CharField(source="manager.employee_no", default=None)
    ladder_level = serializers.CharField(source="ladder_level.code", default=None)

    class Meta:
        model = Employee
        fields = [
            "id",
            "employee_no",
            "name",
            "org_unit",
            "manager",
            "position",
            "role_family",
            "ladder_level",
            "hire_date",
            "last_working_date",
            "is_active",
        ]


class FamilyMemberOut(serializers.ModelSerializer):
    class Meta:
        model = FamilyMember
        fields = ["id", "relation", "name", "birth_date", "has_consented_to_reminders"]


class EmployeeDetailOut(EmployeeOut):
    """Work data, plus the private fields when the reader may see them (else absent)."""

    national_id_number = serializers.CharField(required=False)
    phone = serializers.CharField(required=False)
    bank_account = serializers.CharField(required=False)
    address = serializers.CharField(required=False)
    family = FamilyMemberOut(many=True, required=False)

    class Meta(EmployeeOut.Meta):
        fields = [*EmployeeOut.Meta.fields, *PRIVATE_READ]

    def to_representation(self, instance):
        if not self.context["show_private"]:
            for name in PRIVATE_READ:
                self.fields.pop(name, None)
        return super().to_representation(instance)


def visible_employee(request, employee_id: int) -> Employee:
    employee = employees_visible_to(request.user).filter(pk=employee_id).first()
    if employee is None:
        raise NotFound(f"employee {employee_id} does not exist")
    return employee


def employee_detail(request, employee: Employee) -> dict:
    """The record as `request.user` may see it; showing private fields is logged."""
    show_private = may_see_private(request.user, employee)
    data = EmployeeDetailOut(employee, context={"show_private": show_private}).data
    if show_private:
        access_record(
            user=request.user,
            employee=employee,
            fields=PRIVATE_READ,
            endpoint=f"{request.method} {request.path}",
        )
    return data


class EmployeeListApi(ListAPIView):
    """Employee records I may see (work data only; private fields on the detail)."""

    permission_classes = [IsAuthenticated]
    serializer_class = EmployeeOut
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Employee.objects.none()
        return employees_visible_to(self.request.user).order_by("employee_no")


class EmployeeDetailApi(APIView):
    """One employee record; PATCH changes private fields (own contact fields, or HR)."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(StrictInput):
        national_id_number = serializers.RegexField(
            r"^[0-9A-Za-z]{6,32}$", required=False, help_text="letters and digits, 6-32"
        )
        phone = serializers.RegexField(
            r"^\+?[0-9][0-9 -]{4,30}$", required=False, help_text="digits, spaces, '-', '+'"
        )
        bank_account = serializers.RegexField(
            r"^[0-9A-Za-z ]{8,64}$", required=False, help_text="letters, digits and spaces"
        )
        address = serializers.CharField(required=False, max_length=300)

    @extend_schema(responses=EmployeeDetailOut)
    def get(self, request, employee_id: int):
        employee = visible_employee(request, employee_id)
        return Response(employee_detail(request, employee))

    @extend_schema(request=InputSerializer, responses=EmployeeDetailOut)
    def patch(self, request, employee_id: int):
        employee = visible_employee(request, employee_id)
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        # The change, the access-log row and the answer commit together or not at all: an
        # answer that cannot be built must not leave the change behind (it once answered 500
        # after committing).
        with transaction.atomic():
            employee = employee_update_private(
                employee=employee, actor=request.user, changes=dict(payload.validated_data)
            )
            answer = employee_detail(request, employee)
        return Response(answer)


class AccessLogOut(serializers.ModelSerializer):
    user = serializers.CharField(source="username")
    employee = serializers.CharField(source="employee_no")

    class Meta:
        model = SensitiveAccess
        fields = ["id", "user", "employee", "fields", "endpoint", "accessed_at"]


class AccessLogApi(ListAPIView):
    """Who read whose private fields, newest first (auditors, within their unit's subtree)."""

    permission_classes = [IsAccessLogReader]
    serializer_class = AccessLogOut
    filter_backends = []

    class FilterSerializer(StrictInput):
        user = serializers.CharField(required=False, help_text="username of the reader")
        employee = serializers.CharField(required=False, help_text="employee number")
        to = DateTimeField(required=False)
        page = serializers.IntegerField(required=False, min_value=1)
        page_size = serializers.IntegerField(required=False, min_value=1, max_value=200)

        def get_fields(self):
            # "from" is a Python keyword, so it cannot be a declared attribute.
            fields = super().get_fields()
            fields["from"] = DateTimeField(required=False)
            return fields

    @extend_schema(
        parameters=[
            OpenApiParameter("user", str, description="username of the reader"),
            OpenApiParameter("employee", str, description="employee number"),
            OpenApiParameter("from", str, description="ISO 8601 date-time, inclusive"),
            OpenApiParameter("to", str, description="ISO 8601 date-time, exclusive"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SensitiveAccess.objects.none()
        filters = self.FilterSerializer(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        rows = access_log_visible_to(self.request.user)
        if "user" in params:
            rows = rows.filter(username=params["user"])
        if "employee" in params:
            rows = rows.filter(employee_no=params["employee"])
        if "from" in params:
            rows = rows.filter(accessed_at__gte=params["from"])
        if "to" in params:
            rows = rows.filter(accessed_at__lt=params["to"])
        return rows
