from django.conf import settings
from django.db import models
from django.db.models import Q


class OrgUnit(models.Model):
    """A node of the group's tree: group HQ > clinic > department."""

    class Kind(models.TextChoices):
        GROUP = "group", "Healthcare group 医疗集团"
        CLINIC = "clinic", "Clinic 门店"
        DEPARTMENT = "department", "Department 科室"

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Materialised path of ancestor ids ("/1/4/9/"), so subtree scoping is one indexed prefix query.
    path = models.CharField(max_length=512, editable=False, db_index=True, default="")

    class Meta:
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="group", parent__isnull=True) | Q(parent__isnull=False),
                name="orgunit_only_group_is_root",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        # The path needs the row's own id, so a new row is written twice.
        if self.pk is None:
            super().save(*args, **kwargs)
            kwargs = {k: v for k, v in kwargs.items() if k != "force_insert"}
        prefix = self.parent.path if self.parent_id else "/"
        self.path = f"{prefix}{self.pk}/"
        super().save(*args, **kwargs)

    @property
    def ancestor_ids(self) -> list[int]:
        return [int(part) for part in self.path.strip("/").split("/") if part]

    def ancestor_of_kind(self, kind: str) -> "OrgUnit | None":
        """The nearest unit of `kind` at or above this one."""
        if self.kind == kind:
            return self
        candidates = OrgUnit.objects.filter(pk__in=self.ancestor_ids, kind=kind)
        return max(candidates, key=lambda unit: len(unit.path), default=None)

    def subtree(self) -> models.QuerySet["OrgUnit"]:
        return OrgUnit.objects.filter(path__startswith=self.path)


class Employee(models.Model):
    """A person employed by the group, linked to the Django user they sign in as."""

    class RoleFamily(models.TextChoices):
        DOCTOR = "doctor", "Doctor 医生"
        NURSE = "nurse", "Nurse 护士"
        TECHNICIAN = "technician", "Technician 技师"
        ADMIN = "admin", "Administration 行政"
        OTHER = "other", "Other 其他"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="employee",
    )
    employee_no = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    org_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="employees")
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    position = models.CharField(max_length=100, blank=True)
    role_family = models.CharField(
        max_length=16, choices=RoleFamily.choices, default=RoleFamily.OTHER
    )
    hire_date = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["employee_no"]

    def __str__(self) -> str:
        return f"{self.name} ({self.employee_no})"


class RoleAssignment(models.Model):
    """A user holds a role within an org unit (and, for scoping, the units below it)."""

    class Role(models.TextChoices):
        EMPLOYEE = "employee", "Employee 员工"
        SUPERVISOR = "supervisor", "Supervisor 护士长/科室主任"
        CLINIC_HR = "clinic_hr", "Clinic HR 门店人力资源部"
        GROUP_HR = "group_hr", "Group HR 集团人力资源部"
        PROCESS_OWNER = "process_owner", "Process owner 流程负责人"
        AUDITOR = "auditor", "Auditor 审计"
        # A system account (attendance, appraisal system) that sends messages by token.
        INTEGRATION = "integration", "Integration 系统集成"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments"
    )
    role = models.CharField(max_length=32, choices=Role.choices)
    org_unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="role_assignments")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "org_unit"], name="unique_role_per_unit"
            )
        ]
        indexes = [models.Index(fields=["role", "org_unit"])]

    def __str__(self) -> str:
        return f"{self.user} {self.role} @ {self.org_unit}"
