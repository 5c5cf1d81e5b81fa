"""Read-only admin views: every change goes through workflows.services."""

from django.contrib import admin

from workflows.models import (
    Delivery,
    HumanTask,
    Incident,
    Notification,
    ProcessDefinition,
    ProcessInstance,
    ProcessVersion,
    Timer,
    WorkflowEvent,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProcessDefinition)
class ProcessDefinitionAdmin(ReadOnlyAdmin):
    list_display = ["key", "name", "created_at"]


@admin.register(ProcessVersion)
class ProcessVersionAdmin(ReadOnlyAdmin):
    list_display = [
        "definition",
        "number",
        "deployed_at",
        "deployed_by",
        "approval_status",
        "reviewed_by",
        "reviewed_at",
    ]
    list_filter = ["approval_status"]
    exclude = ["bpmn_files", "dmn_files", "forms"]


@admin.register(ProcessInstance)
class ProcessInstanceAdmin(ReadOnlyAdmin):
    list_display = ["id", "definition", "version", "status", "subject", "org_unit", "started_at"]
    list_filter = ["status", "definition"]
    exclude = ["state"]


@admin.register(HumanTask)
class HumanTaskAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "element_id",
        "instance",
        "status",
        "assignee",
        "candidate_user",
        "candidate_role",
        "candidate_org_unit",
        "created_at",
    ]
    list_filter = ["status", "element_id"]


@admin.register(Timer)
class TimerAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "element_id", "instance", "due_at", "status", "attempts"]
    list_filter = ["status", "kind"]


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = ["id", "instance", "element_id", "status", "message", "created_at"]
    list_filter = ["status"]


@admin.register(WorkflowEvent)
class WorkflowEventAdmin(ReadOnlyAdmin):
    list_display = ["instance", "seq", "kind", "actor_label", "element_id", "created_at"]
    list_filter = ["kind"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["id", "recipient", "kind", "title", "instance", "created_at", "read_at"]
    list_filter = ["kind"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "channel", "target", "status", "attempts", "next_attempt_at"]
    list_filter = ["status", "channel"]
