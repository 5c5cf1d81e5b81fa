"""Serializers shared by several views: a strict input base and the output shapes."""

from collections.abc import Mapping

from rest_framework import serializers

from api.filters import written_datetime_problem
from workflows.models import (
    HumanTask,
    Incident,
    ProcessDefinition,
    ProcessInstance,
    ProcessVersion,
    WorkflowEvent,
)


class StrictInput(serializers.Serializer):
    """An input serializer that refuses fields it does not declare."""

    def to_internal_value(self, data):
        errors = {}
        if isinstance(data, Mapping):
            errors = {k: ["unknown field"] for k in sorted(set(data) - set(self.fields))}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({**exc.detail, **errors}) from None
        if errors:
            raise serializers.ValidationError(errors)
        return value


class DateTimeField(serializers.DateTimeField):
    """DRF's date-time field for input (bodies and query strings), refusing what
    `api.filters.datetime_problem` refuses: an offset beyond ±14:00, or a moment outside the
    years 1..9999 in UTC (PostgreSQL answered 500 for `+20:00`)."""

    def to_internal_value(self, value):
        problem = written_datetime_problem(value)
        if problem:
            raise serializers.ValidationError(problem, code="out_of_range")
        return super().to_internal_value(value)


class VersionOut(serializers.ModelSerializer):
    process = serializers.CharField(source="definition.key")
    # Declared, so the schema does not carry the database's integer range.
    number = serializers.IntegerField()
    deployed_by = serializers.CharField(source="deployed_by.username", default=None)
    files = serializers.SerializerMethodField()
    start_form = serializers.SerializerMethodField()

    class Meta:
        model = ProcessVersion
        fields = [
            "id",
            "process",
            "number",
            "content_hash",
            "deployed_at",
            "deployed_by",
            "files",
            "start_form",
            "approval_status",
        ]

    def get_files(self, version) -> list[str]:
        return sorted([*version.bpmn_files, *version.dmn_files, *version.forms])

    def get_start_form(self, version) -> str | None:
        return version.start_form or None


class DeploymentOut(serializers.ModelSerializer):
    """A deployed version and its approval (four-eyes deploy): why it waits, who decided."""

    process = serializers.CharField(source="definition.key")
    process_name = serializers.CharField(source="definition.name")
    number = serializers.IntegerField()
    deployed_by = serializers.CharField(source="deployed_by.username", default=None)
    base_version = serializers.IntegerField(source="base_version.number", default=None)
    approval_reasons = serializers.JSONField()
    reviewed_by = serializers.CharField(source="reviewed_by.username", default=None)

    class Meta:
        model = ProcessVersion
        fields = [
            "id",
            "process",
            "process_name",
            "number",
            "deployed_at",
            "deployed_by",
            "base_version",
            "approval_status",
            "approval_reasons",
            "reviewed_by",
            "reviewed_at",
            "review_comment",
        ]


class DefinitionOut(serializers.ModelSerializer):
    latest_version = serializers.SerializerMethodField()

    class Meta:
        model = ProcessDefinition
        fields = ["key", "name", "created_at", "latest_version"]

    def get_latest_version(self, definition) -> int | None:
        return getattr(definition, "latest_number", None)


class TaskOut(serializers.ModelSerializer):
    process = serializers.CharField(source="instance.definition.key")
    assignee = serializers.CharField(source="assignee.username", default=None)
    candidate_user = serializers.CharField(source="candidate_user.username", default=None)
    candidate_org_unit = serializers.CharField(source="candidate_org_unit.code", default=None)
    is_overdue = serializers.SerializerMethodField()

    class Meta:
        model = HumanTask
        fields = [
            "id",
            "instance",
            "process",
            "element_id",
            "name",
            "documentation",
            "lane",
            "status",
            "assignee",
            "candidate_user",
            "candidate_role",
            "candidate_org_unit",
            "created_at",
            "due_at",
            "is_overdue",
            "claimed_at",
            "completed_at",
        ]

    def get_is_overdue(self, task) -> bool:
        now = self.context.get("now")
        return bool(task.is_open and task.due_at and now and task.due_at < now)


class InstanceOut(serializers.ModelSerializer):
    process = serializers.CharField(source="definition.key")
    process_name = serializers.CharField(source="definition.name")
    version = serializers.IntegerField(source="version.number")
    version_id = serializers.IntegerField()
    subject = serializers.CharField(source="subject.employee_no", default=None)
    org_unit = serializers.CharField(source="org_unit.code", default=None)
    started_by = serializers.CharField(source="started_by.username", default=None)
    waiting_at = serializers.SerializerMethodField()
    open_tasks = serializers.SerializerMethodField()

    class Meta:
        model = ProcessInstance
        fields = [
            "id",
            "process",
            "process_name",
            "version",
            "version_id",
            "business_key",
            "subject",
            "org_unit",
            "started_by",
            "status",
            "started_at",
            "updated_at",
            "ended_at",
            "waiting_at",
            "open_tasks",
        ]

    def get_waiting_at(self, instance) -> list[str]:
        return [task["name"] for task in self.get_open_tasks(instance)]

    def get_open_tasks(self, instance) -> list[dict]:
        return self.context.get("open_tasks", {}).get(instance.pk, [])


class EventOut(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")
    seq = serializers.IntegerField()

    class Meta:
        model = WorkflowEvent
        fields = [
            "seq",
            "kind",
            "actor",
            "element_id",
            "task_id",
            "data",
            "created_at",
            "prev_hash",
            "hash",
        ]


class IncidentOut(serializers.ModelSerializer):
    resolved_by = serializers.CharField(source="resolved_by.username", default=None)

    class Meta:
        model = Incident
        fields = [
            "id",
            "instance",
            "element_id",
            "task_id",
            "message",
            "status",
            "created_at",
            "resolved_at",
            "resolved_by",
        ]
