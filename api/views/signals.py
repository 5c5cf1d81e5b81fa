"""Compliance signals 合规信号: intake from other systems and from the people whose job it is
to report (see hr/services/compliance.py), and the scoped list.

We do not read private chats or phone usage: signals come only from systems and reports made
for that purpose."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response

from api.filters import IsoDateTimeFilter, refuse_unknown_filters
from api.permissions import HasAnyRole
from api.serializers import DateTimeField, StrictInput
from hr.models import ComplianceSignal, Employee, RoleAssignment
from hr.selectors import active_employee, has_role, holds_role_over, hr_records_visible_to
from hr.services import compliance as compliance_services
from workflows.exceptions import NotAllowed

Role = RoleAssignment.Role
# Who reports about whom: integration accounts about anyone; these roles about the people of
# the units where they hold them (never about themselves).
REPORTING_ROLES = (Role.SUPERVISOR, Role.CLINIC_HR, Role.GROUP_HR)


class IsSignalReporter(HasAnyRole):
    """Integration accounts (attendance system, patient survey), supervisors and HR."""

    roles = (Role.INTEGRATION, *REPORTING_ROLES)


def _may_report(user, employee: Employee) -> bool:
    if user.is_superuser or has_role(user, Role.INTEGRATION):
        return True
    if employee.user_id == user.pk:
        return False
    if employee.manager is not None and employee.manager.user_id == user.pk:
        return True
    return any(holds_role_over(user, role, employee.org_unit) for role in REPORTING_ROLES)


class SignalOut(serializers.ModelSerializer):
    employee_no = serializers.CharField(source="employee.employee_no")
    details = serializers.SerializerMethodField(
        help_text="null for the employee the signal is about (reporters stay protected)"
    )
    recorded_by = serializers.CharField(source="recorded_by.username", default=None)
    deduction_instance = serializers.IntegerField(source="deduction_instance_id", allow_null=True)
    achievement = serializers.IntegerField(source="achievement_id", allow_null=True)

    class Meta:
        model = ComplianceSignal
        fields = [
            "id",
            "employee_no",
            "kind",
            "severity",
            "occurred_at",
            "source",
            "idempotency_key",
            "details",
            "clause_code",
            "is_violation",
            "deduction_instance",
            "achievement",
            "recorded_by",
            "received_at",
        ]

    def get_details(self, signal) -> dict | None:
        request = self.context.get("request")
        if request is not None and signal.employee.user_id == request.user.pk:
            return None
        return signal.details


class SignalFilter(django_filters.FilterSet):
    employee = django_filters.CharFilter(field_name="employee__employee_no")
    kind = django_filters.ChoiceFilter(choices=ComplianceSignal.Kind.choices)
    clause = django_filters.CharFilter(field_name="clause_code")
    occurred_after = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = ComplianceSignal
        fields = []


class SignalApi(ListAPIView):
    """GET: the signals I may see (about people in my units if I am supervisor, HR or auditor;
    about me, without details; the ones I sent). POST: report a signal."""

    serializer_class = SignalOut
    filterset_class = SignalFilter

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsSignalReporter()]
        return super().get_permissions()

    class InputSerializer(StrictInput):
        employee_no = serializers.CharField(max_length=32)
        kind = serializers.ChoiceField(choices=ComplianceSignal.Kind.choices)
        severity = serializers.ChoiceField(
            choices=ComplianceSignal.Severity.choices,
            required=False,
            default=ComplianceSignal.Severity.MINOR,
        )
        occurred_at = DateTimeField()
        source = serializers.RegexField(
            r"^[A-Za-z0-9_.:-]{1,64}$",
            help_text='the sending system or channel, e.g. "attendance-system"',
        )
        idempotency_key = serializers.CharField(
            max_length=128, help_text="unique per source; a repeat answers the recorded signal"
        )
        details = serializers.DictField(required=False, default=dict)

    class IntakeOut(SignalOut):
        violations_in_window = serializers.SerializerMethodField(
            help_text="violations of the clause in the 30 days up to this one (null: none)"
        )

        class Meta(SignalOut.Meta):
            fields = [*SignalOut.Meta.fields, "violations_in_window"]

        def get_violations_in_window(self, signal) -> int | None:
            return self.context["violations_in_window"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ComplianceSignal.objects.none()
        refuse_unknown_filters(self.request.query_params, SignalFilter)
        user = self.request.user
        visible = ComplianceSignal.objects.filter(employee__in=hr_records_visible_to(user))
        sent = ComplianceSignal.objects.filter(recorded_by=user)
        return (
            (visible | sent)
            .select_related("employee", "recorded_by")
            .order_by("-occurred_at", "-id")
        )

    @extend_schema(request=InputSerializer, responses={200: IntakeOut, 201: IntakeOut})
    def post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        params = payload.validated_data
        employee = active_employee(params["employee_no"])
        if not _may_report(request.user, employee):
            raise NotAllowed("you may not report signals about this employee")
        intake = compliance_services.signal_record(
            employee=employee,
            kind=params["kind"],
            severity=params["severity"],
            occurred_at=params["occurred_at"],
            source=params["source"],
            idempotency_key=params["idempotency_key"],
            details=params["details"],
            recorded_by=request.user,
        )
        out = self.IntakeOut(
            intake.signal,
            context={"request": request, "violations_in_window": intake.violations_in_window},
        )
        return Response(
            out.data, status=status.HTTP_201_CREATED if intake.is_new else status.HTTP_200_OK
        )
