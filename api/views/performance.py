"""Monthly appraisals 月度绩效考核: intake from the appraisal system or the supervisor, and
closing a month (the top 10 % bonus)."""

import datetime as dt

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import HasAnyRole
from api.serializers import StrictInput
from hr.models import Employee, RoleAssignment
from hr.selectors import active_employee, has_role, holds_role_over
from hr.services import performance as performance_services
from workflows.exceptions import NotAllowed

Role = RoleAssignment.Role
# Years 2000-2099: "0000-01" is no date, and month arithmetic past 9999-12 overflows (500s).
PERIOD_PATTERN = r"^20[0-9]{2}-(0[1-9]|1[0-2])$"


class IsAppraisalSender(HasAnyRole):
    """The appraisal system (integration accounts) and supervisors enter monthly scores."""

    roles = (Role.INTEGRATION, Role.SUPERVISOR)


class IsMonthCloser(HasAnyRole):
    """Group HR, or the appraisal system, closes a month."""

    roles = (Role.GROUP_HR, Role.INTEGRATION)


def _period_date(period: str) -> dt.date:
    return dt.date(int(period[:4]), int(period[5:7]), 1)


def _may_appraise(user, employee: Employee) -> bool:
    """Integration accounts appraise anyone; a supervisor appraises the people they manage or
    who work in a unit where they are supervisor, but never themselves."""
    if user.is_superuser or has_role(user, Role.INTEGRATION):
        return True
    if employee.user_id == user.pk:
        return False
    is_manager = employee.manager is not None and employee.manager.user_id == user.pk
    return is_manager or holds_role_over(user, Role.SUPERVISOR, employee.org_unit)


class AppraisalCreateApi(APIView):
    """Record one month's scores of an employee; the weighted total, the rating and the
    monthly rules (remedial training, reserve cadre, PIP) follow."""

    permission_classes = [IsAppraisalSender]

    class InputSerializer(StrictInput):
        employee_no = serializers.CharField(max_length=32)
        period = serializers.RegexField(PERIOD_PATTERN, help_text='month, e.g. "2026-10"')
        scores = serializers.DictField(
            child=serializers.JSONField(), help_text="{indicator code: score 0-100}"
        )

    class OutputSerializer(serializers.Serializer):
        employee_no = serializers.CharField(source="appraisal.employee.employee_no")
        period = serializers.SerializerMethodField()
        scores = serializers.JSONField(source="appraisal.scores")
        total = serializers.DecimalField(
            source="appraisal.total", max_digits=5, decimal_places=2, coerce_to_string=False
        )
        rating = serializers.CharField(source="appraisal.rating")
        remedial_training_instance = serializers.IntegerField(
            source="remedial_training.pk", default=None
        )
        reserve_cadre_added = serializers.BooleanField()
        pip_instance = serializers.IntegerField(source="pip.pk", default=None)
        rule_notes = serializers.JSONField(
            source="appraisal.rule_notes",
            help_text="what the streak rules decided for each window of months this month "
            "completed: {rule, months, outcome (started/added/skipped), instance?, reason?}",
        )

        def get_period(self, outcome) -> str:
            return performance_services.period_label(outcome.appraisal.period_date)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        params = payload.validated_data
        employee = active_employee(params["employee_no"])
        if not _may_appraise(request.user, employee):
            raise NotAllowed("you may not appraise this employee")
        outcome = performance_services.appraisal_record(
            employee=employee,
            period_date=_period_date(params["period"]),
            scores=params["scores"],
            recorded_by=request.user,
        )
        return Response(self.OutputSerializer(outcome).data, status=status.HTTP_201_CREATED)


class AppraisalMonthCloseApi(APIView):
    """Close a month: the top 10 % by weighted total get a 10 % bonus record."""

    permission_classes = [IsMonthCloser]

    class InputSerializer(StrictInput):
        period = serializers.RegexField(PERIOD_PATTERN, help_text='month, e.g. "2026-10"')

    class OutputSerializer(serializers.Serializer):
        period = serializers.SerializerMethodField()
        appraised = serializers.IntegerField()
        top_size = serializers.IntegerField(help_text="places in the top 10 % (rounded up)")
        bonuses = serializers.SerializerMethodField()

        def get_period(self, closed) -> str:
            return performance_services.period_label(closed.period_date)

        def get_bonuses(self, closed) -> list[dict]:
            return [
                {
                    "employee_no": record.employee.employee_no,
                    "percent": float(record.percent),
                    "reason": record.reason,
                }
                for record in closed.bonuses
            ]

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        closed = performance_services.appraisal_month_close(
            period_date=_period_date(payload.validated_data["period"])
        )
        return Response(self.OutputSerializer(closed).data)
