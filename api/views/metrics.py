"""HR metrics 人力资源指标 behind the dashboards (a fixed contract; docs/metrics.md).

Group HR and auditors read the whole group, clinic HR the subtree of their clinic; everyone
else gets 403.
"""

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import HasAnyRole
from api.serializers import StrictInput
from hr import metrics
from hr.models import RoleAssignment
from hr.selectors import has_role, scope_paths

Role = RoleAssignment.Role


class IsMetricsReader(HasAnyRole):
    roles = (Role.GROUP_HR, Role.CLINIC_HR, Role.AUDITOR)


def metrics_scope(user) -> list[str] | None:
    """None: the whole group (group HR, auditors); else the clinic-HR subtrees."""
    if user.is_superuser or has_role(user, Role.GROUP_HR, Role.AUDITOR):
        return None
    return scope_paths(user, (Role.CLINIC_HR,))


def _validate_period(attrs: dict) -> dict:
    if attrs["from"] > attrs["to"]:
        raise serializers.ValidationError({"from": ["must not be after to"]})
    return attrs


# `from` is a Python keyword, so these serializers are built with type().
PeriodInput = type(
    "PeriodInput",
    (StrictInput,),
    {
        "from": serializers.DateField(
            help_text="first day, YYYY-MM-DD", input_formats=["iso-8601"]
        ),
        "to": serializers.DateField(help_text="last day (inclusive)", input_formats=["iso-8601"]),
        "validate": lambda self, attrs: _validate_period(attrs),
    },
)
GroupedPeriodInput = type(
    "GroupedPeriodInput",
    (PeriodInput,),
    {
        "group_by": serializers.ChoiceField(
            choices=["clinic", "role_family"], required=False, default="clinic"
        )
    },
)


def _period(params: dict) -> metrics.Period:
    return metrics.Period(from_date=params["from"], to_date=params["to"])


def _report_serializer(name: str, row_fields: dict, grouped: bool = False):
    """An output serializer {from, to, [group_by], rows: [row], total: row}."""
    row = type(f"{name}Row", (serializers.Serializer,), row_fields)
    fields = {
        "from": serializers.DateField(),
        "to": serializers.DateField(),
        "rows": row(many=True),
        "total": row(),
    }
    if grouped:
        fields["group_by"] = serializers.CharField()
    return type(f"{name}Report", (serializers.Serializer,), fields)


def _rate(help_text: str):
    return serializers.FloatField(allow_null=True, help_text=help_text)


TurnoverReport = _report_serializer(
    "Turnover",
    {
        "key": serializers.CharField(),
        "label": serializers.CharField(),
        "headcount_start": serializers.IntegerField(),
        "headcount_end": serializers.IntegerField(),
        "average_headcount": serializers.FloatField(),
        "leavers": serializers.IntegerField(),
        "turnover_rate": _rate("leavers / average_headcount; null when it is 0"),
    },
    grouped=True,
)
TrainingReport = _report_serializer(
    "Training",
    {
        "key": serializers.CharField(),
        "label": serializers.CharField(),
        "employees": serializers.IntegerField(),
        "participants": serializers.IntegerField(),
        "participation_rate": _rate("participants / employees"),
    },
    grouped=True,
)
FeedbackReport = _report_serializer(
    "FeedbackMetrics",
    {
        "key": serializers.CharField(),
        "label": serializers.CharField(),
        "employees": serializers.IntegerField(),
        "submitters": serializers.IntegerField(help_text="named submitters only"),
        "participation_rate": _rate("submitters / employees"),
        "submitted": serializers.IntegerField(help_text="named and anonymous tickets"),
        "closed": serializers.IntegerField(),
        "average_closure_hours": serializers.FloatField(allow_null=True),
        "closed_unresolved": serializers.IntegerField(),
        "unresolved_share": _rate("closed_unresolved / closed"),
    },
)


class CycleTimeStep(serializers.Serializer):
    element_id = serializers.CharField()
    label = serializers.CharField()
    completed = serializers.IntegerField()
    average_seconds = serializers.FloatField(allow_null=True)
    p90_seconds = serializers.FloatField(allow_null=True)


class CycleTimeRow(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    completed = serializers.IntegerField()
    average_seconds = serializers.FloatField(allow_null=True)
    p90_seconds = serializers.FloatField(allow_null=True)
    steps = CycleTimeStep(many=True)


CycleTimeReport = type(
    "CycleTimeReport",
    (serializers.Serializer,),
    {
        "from": serializers.DateField(),
        "to": serializers.DateField(),
        "rows": CycleTimeRow(many=True),
    },
)


class OpenTasksRow(serializers.Serializer):
    process_key = serializers.CharField()
    process_label = serializers.CharField()
    org_unit = serializers.CharField(allow_null=True)
    org_unit_label = serializers.CharField(allow_null=True)
    open = serializers.IntegerField()
    overdue = serializers.IntegerField()


class OpenTasksReport(serializers.Serializer):
    rows = OpenTasksRow(many=True)


class _MetricApi(APIView):
    """One metric: validate the query, compute the report in the caller's scope, shape it."""

    permission_classes = [IsMetricsReader]
    input_serializer: type = PeriodInput
    output_serializer: type

    def report(self, params: dict, scope: list[str] | None) -> dict:
        raise NotImplementedError

    def get(self, request):
        filters = self.input_serializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        report = self.report(filters.validated_data, metrics_scope(request.user))
        return Response(self.output_serializer(report).data)


@extend_schema_view(get=extend_schema(parameters=[GroupedPeriodInput], responses=TurnoverReport))
class TurnoverMetricsApi(_MetricApi):
    """Turnover 人员流动率: leavers / average headcount per clinic or role family."""

    input_serializer = GroupedPeriodInput
    output_serializer = TurnoverReport

    def report(self, params, scope):
        return metrics.turnover(period=_period(params), group_by=params["group_by"], scope=scope)


@extend_schema_view(get=extend_schema(parameters=[GroupedPeriodInput], responses=TrainingReport))
class TrainingMetricsApi(_MetricApi):
    """Training participation 培训参与率 per clinic or role family."""

    input_serializer = GroupedPeriodInput
    output_serializer = TrainingReport

    def report(self, params, scope):
        return metrics.training(period=_period(params), group_by=params["group_by"], scope=scope)


@extend_schema_view(get=extend_schema(parameters=[PeriodInput], responses=FeedbackReport))
class FeedbackMetricsApi(_MetricApi):
    """Employee voice 心声直达: participation, closure time and unresolved share per clinic."""

    output_serializer = FeedbackReport

    def report(self, params, scope):
        return metrics.feedback(period=_period(params), scope=scope)


@extend_schema_view(get=extend_schema(parameters=[PeriodInput], responses=CycleTimeReport))
class CycleTimeMetricsApi(_MetricApi):
    """Cycle time 流程周期: how long completed processes and their user tasks took."""

    output_serializer = CycleTimeReport

    def report(self, params, scope):
        return metrics.cycle_time(period=_period(params), scope=scope)


@extend_schema_view(get=extend_schema(responses=OpenTasksReport))
class OpenTasksMetricsApi(_MetricApi):
    """Open and overdue tasks 待办与逾期 per process and clinic, right now."""

    input_serializer = StrictInput
    output_serializer = OpenTasksReport

    def report(self, params, scope):
        return metrics.open_tasks(scope=scope, now=timezone.now())
