from django.contrib import admin

from hr.models import Employee, OrgUnit, RoleAssignment


@admin.register(OrgUnit)
class OrgUnitAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "parent"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]


@admin.register(Employee)
class EmployeeAdmin(admin.ModelAdmin):
    list_display = ["employee_no", "name", "org_unit", "position", "role_family", "manager"]
    list_filter = ["role_family", "is_active"]
    search_fields = ["employee_no", "name"]


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "org_unit"]
    list_filter = ["role"]
