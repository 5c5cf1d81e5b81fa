from django.contrib import admin
from knox.admin import AuthTokenAdmin as KnoxAuthTokenAdmin
from knox.admin import AuthTokenCreateForm
from knox.models import AuthToken

from hr.models import (
    CalendarDay,
    ComplianceSignal,
    Credential,
    DeductionNotice,
    DutyRestriction,
    Employee,
    OrgUnit,
    RoleAssignment,
    SensitiveAccess,
)
from workflows.admin import ReadOnlyAdmin


@admin.register(OrgUnit)
class OrgUnitAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "parent"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["calendar_date", "kind", "name"]
    list_filter = ["kind"]
    date_hierarchy = "calendar_date"
    search_fields = ["name"]


@admin.register(Employee)
class EmployeeAdmin(admin.ModelAdmin):
    list_display = ["employee_no", "name", "org_unit", "position", "role_family", "manager"]
    list_filter = ["role_family", "is_active"]
    search_fields = ["employee_no", "name"]
    # Private fields are read through the API only, where who may see them is enforced and
    # every read is logged; the admin never shows them.
    exclude = list(Employee.PRIVATE_FIELDS)


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "org_unit"]
    list_filter = ["role"]


@admin.register(SensitiveAccess)
class SensitiveAccessAdmin(admin.ModelAdmin):
    """The access log, read-only: nobody adds, changes or deletes rows here."""

    list_display = ["accessed_at", "username", "employee_no", "endpoint"]
    list_filter = ["accessed_at"]
    search_fields = ["username", "employee_no"]
    readonly_fields = ["user", "username", "employee", "employee_no", "fields", "endpoint"]
    actions = None

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- licence renewal and compliance signals ---------------------------------------------------


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    """Clinic HR enters the credentials on file; renewals then replace them through the
    licence_renewal process (the scan picks up new ones the next day)."""

    list_display = ["employee", "kind", "number", "valid_until_date", "status", "replaces"]
    list_filter = ["kind", "status"]
    search_fields = ["number", "employee__employee_no", "employee__name"]
    raw_id_fields = ["employee", "replaces"]


@admin.register(DutyRestriction)
class DutyRestrictionAdmin(ReadOnlyAdmin):
    list_display = ["employee", "credential", "started_at", "cleared_at"]


@admin.register(ComplianceSignal)
class ComplianceSignalAdmin(ReadOnlyAdmin):
    list_display = ["employee", "kind", "occurred_at", "source", "clause_code", "is_violation"]
    list_filter = ["kind", "clause_code"]


@admin.register(DeductionNotice)
class DeductionNoticeAdmin(ReadOnlyAdmin):
    list_display = ["employee", "clause_code", "period_date", "percent", "status", "decided_by"]
    list_filter = ["status", "clause_code"]


class ExpiringAuthTokenCreateForm(AuthTokenCreateForm):
    """An API token issued in the admin expires like every other (knox allows none)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expiry"].required = True


# knox's own admin (listed by digest; the token is shown once, when added), with an expiry.
admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class AuthTokenAdmin(KnoxAuthTokenAdmin):
    add_form = ExpiringAuthTokenCreateForm
