from django.conf import settings
from django.db import models
from django.db.models import Q

from hr.fields import EncryptedCharField


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
    ladder_level = models.ForeignKey(
        "LadderLevel", null=True, blank=True, on_delete=models.SET_NULL, related_name="employees"
    )
    # Set when onboarding's mandatory pre-job training is done and signed off.
    cleared_for_duty_at = models.DateTimeField(null=True, blank=True)
    last_working_date = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    # Private fields: encrypted at rest; only HR over the employee and the employee see them
    # (hr/selectors.py `may_see_private`), and every read is written to the access log.
    national_id_number = EncryptedCharField(
        "national ID number 身份证号", max_length=32, blank=True
    )
    phone = EncryptedCharField("phone 电话", max_length=32, blank=True)
    bank_account = EncryptedCharField("bank account 银行账号", max_length=64, blank=True)
    address = EncryptedCharField("address 地址", max_length=300, blank=True)

    PRIVATE_FIELDS = ("national_id_number", "phone", "bank_account", "address")
    # What employees may change on their own record (HR may change every private field).
    CONTACT_FIELDS = ("phone", "address")

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


# --- the people side of the domain ---------------------------------------------------------


class FamilyMember(models.Model):
    """A family member on file, for family-care reminders (only with the employee's consent)."""

    class Relation(models.TextChoices):
        CHILD = "child", "Child 子女"
        SPOUSE = "spouse", "Spouse 配偶"
        PARENT = "parent", "Parent 父母"
        OTHER = "other", "Other 其他"

    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="family")
    relation = models.CharField(max_length=16, choices=Relation.choices)
    # Encrypted; birth_date and the consent flag stay queryable for the reminders.
    name = EncryptedCharField(max_length=100)
    birth_date = models.DateField(null=True, blank=True)
    has_consented_to_reminders = models.BooleanField(default=False)

    def __str__(self) -> str:
        # Not the name: it is private and __str__ ends up in logs and the admin's history.
        return f"family member {self.pk} ({self.relation} of {self.employee_id})"


class Credential(models.Model):
    """A licence or certificate an employee holds; renewals keep the earlier ones."""

    class Kind(models.TextChoices):
        PRACTISING_LICENCE = "practising_licence", "Practising licence 执业证书"
        NURSE_LICENCE = "nurse_licence", "Nurse licence 护士执业证书"
        RADIATION_PERMIT = "radiation_permit", "Radiation permit 放射工作许可"
        CPR_CERTIFICATE = "cpr_certificate", "CPR certificate 心肺复苏证书"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active 有效"
        SUPERSEDED = "superseded", "Superseded 已更新"
        EXPIRED = "expired", "Expired 已过期"

    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="credentials")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    number = models.CharField(max_length=64)
    issuer = models.CharField(max_length=200, blank=True)
    valid_from_date = models.DateField(null=True, blank=True)
    valid_until_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaced_by"
    )

    class Meta:
        indexes = [models.Index(fields=["status", "valid_until_date"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.number}"


class TrainingCourse(models.Model):
    """A course in the group's catalogue (pre-job items, specialty and remedial training)."""

    class Category(models.TextChoices):
        MEDICAL_REGULATIONS = "medical_regulations", "Medical regulations 医疗法规"
        HOSPITAL_RULES = "hospital_rules", "Hospital rules 医院制度"
        POSITION_DUTIES = "position_duties", "Duties of the position 岗位职责"
        SPECIALTY = "specialty", "Specialty training 专科培训"
        REMEDIAL = "remedial", "Mandatory remedial training 强制培训"
        COMPLIANCE = "compliance", "Mandatory compliance training 合规培训"

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=32, choices=Category.choices)
    is_mandatory = models.BooleanField(default=True)
    role_family = models.CharField(
        max_length=16,
        choices=Employee.RoleFamily.choices,
        blank=True,
        help_text="empty: for every role family",
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class TrainingCompletion(models.Model):
    """An employee finished a course."""

    employee = models.ForeignKey(
        Employee, on_delete=models.CASCADE, related_name="training_completions"
    )
    course = models.ForeignKey(TrainingCourse, on_delete=models.PROTECT, related_name="completions")
    completed_at = models.DateTimeField()
    score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["completed_at"]
        indexes = [models.Index(fields=["employee", "course"])]

    def __str__(self) -> str:
        return f"{self.employee_id} finished {self.course_id}"


class LadderLevel(models.Model):
    """One rung of a promotion ladder (e.g. nurse: junior nurse -> ... -> charge nurse)."""

    role_family = models.CharField(max_length=16, choices=Employee.RoleFamily.choices)
    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    rank = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["role_family", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["role_family", "rank"], name="unique_ladder_rank")
        ]

    def __str__(self) -> str:
        return self.name


class Achievement(models.Model):
    """Something on an employee's record that ladders and appraisals count."""

    class Kind(models.TextChoices):
        PATIENT_COMMENDATION = "patient_commendation", "Patient commendation 患者表扬"
        PATIENT_COMPLAINT = "patient_complaint", "Patient complaint 患者投诉"
        PAPER = "paper", "Academic paper 学术论文"
        ACADEMIC_TALK = "academic_talk", "Internal academic talk 学术分享"
        COMPLEX_CASE = "complex_case", "Complex case 疑难病例"

    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="achievements")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    achieved_date = models.DateField()
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["employee", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind} of {self.employee_id}"


class AppraisalIndicator(models.Model):
    """A weighted indicator of the monthly appraisal of a role family."""

    role_family = models.CharField(max_length=16, choices=Employee.RoleFamily.choices)
    code = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    weight_percent = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["role_family", "code"]
        constraints = [
            models.UniqueConstraint(fields=["role_family", "code"], name="unique_indicator")
        ]

    def __str__(self) -> str:
        return f"{self.role_family}:{self.code} {self.weight_percent}%"


class MonthlyAppraisal(models.Model):
    """An employee's scores for one month, with the weighted total and rating."""

    class Rating(models.TextChoices):
        EXCELLENT = "excellent", "Excellent 优秀"
        GOOD = "good", "Good 良好"
        PASS = "pass", "Pass 合格"
        FAIL = "fail", "Fail 不合格"

    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="appraisals")
    period_date = models.DateField(help_text="first day of the month")
    scores = models.JSONField(help_text="{indicator code: score 0-100}")
    total = models.DecimalField(max_digits=5, decimal_places=2)
    rating = models.CharField(max_length=16, choices=Rating.choices)
    recorded_at = models.DateTimeField(auto_now_add=True)
    # What the streak rules decided when this month arrived, one entry per window of months
    # it completed: {rule: "pip"|"reserve_cadre", months: ["2026-10", ...], outcome:
    # "started"|"added"|"skipped", instance?: id, reason?: why skipped}.
    rule_notes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["employee", "period_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["employee", "period_date"], name="one_appraisal_a_month"
            )
        ]

    def __str__(self) -> str:
        return f"{self.employee_id} {self.period_date:%Y-%m}: {self.total}"


class BonusRecord(models.Model):
    """A bonus granted to an employee (e.g. 10 % for the month's top 10 %)."""

    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="bonuses")
    period_date = models.DateField()
    percent = models.DecimalField(max_digits=5, decimal_places=2)
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["employee", "period_date", "reason"], name="one_bonus_per_reason"
            )
        ]

    def __str__(self) -> str:
        return f"{self.employee_id} +{self.percent}% {self.period_date:%Y-%m}"


class ReserveCadre(models.Model):
    """An employee on the reserve-cadre list (future managers)."""

    employee = models.OneToOneField(
        Employee, on_delete=models.CASCADE, related_name="reserve_cadre"
    )
    added_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"reserve cadre {self.employee_id}"


class BenefitType(models.Model):
    """An item of the benefits centre: statutory, company, or special care."""

    class Category(models.TextChoices):
        STATUTORY = "statutory", "Statutory 法定福利"
        COMPANY = "company", "Company 企业福利"
        SPECIAL_CARE = "special_care", "Special care 特殊关怀"

    class Unit(models.TextChoices):
        DAYS = "days", "Days 天"
        AMOUNT = "amount", "Amount (CNY) 金额"
        BOOKING = "booking", "Booking 预约"
        ARRANGEMENT = "arrangement", "Arrangement 安排"

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=16, choices=Category.choices)
    unit = models.CharField(max_length=16, choices=Unit.choices)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["category", "code"]

    def __str__(self) -> str:
        return self.name


class BenefitEntitlement(models.Model):
    """What an employee has of a benefit in a year (leave days, subsidy amount)."""

    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="entitlements")
    benefit_type = models.ForeignKey(BenefitType, on_delete=models.PROTECT)
    year = models.PositiveSmallIntegerField()
    balance = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["employee", "benefit_type", "year"], name="one_entitlement_a_year"
            ),
            models.CheckConstraint(condition=Q(balance__gte=0), name="entitlement_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.employee_id} {self.benefit_type_id} {self.year}: {self.balance}"


class BenefitGrant(models.Model):
    """A claim that was paid out, booked or arranged."""

    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="benefit_grants")
    benefit_type = models.ForeignKey(BenefitType, on_delete=models.PROTECT)
    quantity = models.DecimalField(max_digits=10, decimal_places=2)
    detail = models.CharField(max_length=300, blank=True)
    process_instance_id = models.BigIntegerField(null=True, blank=True)
    granted_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.benefit_type_id} x{self.quantity} to {self.employee_id}"


class FeedbackTicket(models.Model):
    """Employee voice 心声直达. An anonymous ticket has no link to its submitter at all;
    the receipt code is the only way back to it."""

    class Category(models.TextChoices):
        CAREER_GROWTH = "career_growth", "Career growth 职业发展"
        BENEFITS = "benefits", "Benefits 福利"
        WORKLOAD = "workload", "Workload 工作负荷"
        CULTURE = "culture", "Culture 文化"
        MANAGEMENT = "management", "Management 管理"
        OTHER = "other", "Other 其他"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received 已接收"
        IN_PROGRESS = "in_progress", "In progress 处理中"
        RESOLVED = "resolved", "Resolved 已解决"
        NOT_RESOLVED = "not_resolved", "Not resolved 未解决"

    receipt_code = models.CharField(max_length=32, unique=True)
    is_anonymous = models.BooleanField()
    submitter = models.ForeignKey(
        Employee, null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback"
    )
    clinic = models.ForeignKey(
        OrgUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    category = models.CharField(max_length=32, choices=Category.choices, default=Category.OTHER)
    department = models.ForeignKey(
        OrgUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    resolution = models.TextField(blank=True)
    follow_up_plan = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The feedback_closure instance that handles the ticket: the only one whose service tasks
    # may act on it (hr/operations/scopes.py).
    process_instance_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(is_anonymous=False) | Q(submitter__isnull=True),
                name="anonymous_feedback_has_no_submitter",
            )
        ]

    def __str__(self) -> str:
        return self.receipt_code


class EquipmentAssignment(models.Model):
    """Office or clinical equipment lent to an employee, to be returned when they leave."""

    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="equipment")
    item = models.CharField(max_length=200)
    asset_tag = models.CharField(max_length=64, unique=True)
    assigned_date = models.DateField()
    returned_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.asset_tag} ({self.item})"


class SystemAccount(models.Model):
    """An account in one of the group's systems (HIS, EMR, OA ...), revoked when leaving."""

    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="system_accounts")
    system = models.CharField(max_length=32)
    username = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["system", "username"], name="unique_system_account")
        ]

    def __str__(self) -> str:
        return f"{self.system}:{self.username}"


# --- family care and story wall (家庭关怀, 员工故事墙) ------------------------------------------


class FamilyBirthdayReminder(models.Model):
    """The birthday reminder of a family member for one year: the daily scan writes at most one
    (the unique constraint makes it idempotent, however often or concurrently it runs)."""

    family_member = models.ForeignKey(
        FamilyMember, on_delete=models.CASCADE, related_name="birthday_reminders"
    )
    year = models.PositiveSmallIntegerField()
    birthday_date = models.DateField()
    process_instance_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["family_member", "year"], name="one_birthday_reminder_a_year"
            )
        ]

    def __str__(self) -> str:
        return f"birthday {self.birthday_date} of member {self.family_member_id}"


class CareGift(models.Model):
    """A gift of the group to an employee for a family member's illness (care_gift process)."""

    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="care_gifts")
    family_member = models.ForeignKey(
        FamilyMember, null=True, blank=True, on_delete=models.SET_NULL, related_name="care_gifts"
    )
    gift = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    note = models.CharField(max_length=500, blank=True)
    # One gift per process instance: a retried service task does not record it twice.
    process_instance_id = models.BigIntegerField(null=True, blank=True, unique=True)
    granted_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"care gift {self.gift} to {self.employee_id}"


class Story(models.Model):
    """A staff story for the story wall, submitted by a clinic, reviewed by group HQ."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", "Submitted 待审核"
        RETURNED = "returned", "Returned for revision 已退回修改"
        PUBLISHED = "published", "Published 已发布"

    clinic = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="stories")
    employee = models.ForeignKey(Employee, on_delete=models.PROTECT, related_name="stories")
    title = models.CharField(max_length=200)
    text = models.TextField()
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="submitted_stories",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SUBMITTED)
    review_comment = models.TextField(blank=True)
    process_instance_id = models.BigIntegerField(null=True, blank=True)
    submitted_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name_plural = "stories"
        indexes = [models.Index(fields=["status", "published_at"])]

    def __str__(self) -> str:
        return self.title


class StoryPhoto(models.Model):
    """A photo of a story, stored under MEDIA_ROOT and served only through the API."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(upload_to="stories/%Y/%m/")
    content_type = models.CharField(max_length=32)
    size_bytes = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.image.name


class StoryLike(models.Model):
    """One person likes a story, once."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="likes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="story_likes"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["story", "user"], name="one_like_per_person")
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} likes {self.story_id}"


class StoryComment(models.Model):
    """A comment on a published story."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="story_comments"
    )
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.story_id}"


class StoryAward(models.Model):
    """The monthly award 月度感动人物: one round a month, its candidates put to HQ, and the
    story and employee HQ chose with the certificate reference and the extra leave day."""

    period_date = models.DateField(unique=True, help_text="first day of the month")
    candidates = models.JSONField(default=list)
    process_instance_id = models.BigIntegerField(null=True, blank=True)
    story = models.OneToOneField(
        Story, null=True, blank=True, on_delete=models.PROTECT, related_name="award"
    )
    employee = models.ForeignKey(
        Employee, null=True, blank=True, on_delete=models.PROTECT, related_name="story_awards"
    )
    certificate_reference = models.CharField(max_length=64, blank=True)
    extra_leave_days = models.DecimalField(max_digits=4, decimal_places=1, default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    awarded_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"story award {self.period_date:%Y-%m}"


# --- privacy: who read personal data -------------------------------------------------------


class AppendOnlyQuerySet(models.QuerySet):
    """Rows are written once: bulk updates and deletes are refused."""

    def update(self, **kwargs):
        raise PermissionError(f"{self.model.__name__} is append-only")

    def delete(self):
        raise PermissionError(f"{self.model.__name__} is append-only")


class SensitiveAccess(models.Model):
    """Someone read an employee's private fields (decrypted): who, whose, what, when, where.

    Append-only: saving an existing row, deleting one, or bulk update/delete all raise."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="sensitive_accesses",
    )
    # Labels survive the deletion of the user or employee.
    username = models.CharField(max_length=150)
    employee = models.ForeignKey(
        Employee, null=True, on_delete=models.SET_NULL, related_name="sensitive_accesses"
    )
    employee_no = models.CharField(max_length=32)
    fields = models.JSONField(help_text="names of the private fields that were shown")
    endpoint = models.CharField(max_length=300, help_text="method and path of the request")
    accessed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-accessed_at", "-id"]
        indexes = [
            models.Index(fields=["employee", "accessed_at"]),
            models.Index(fields=["user", "accessed_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.username} read {self.employee_no} at {self.accessed_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionError("SensitiveAccess is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("SensitiveAccess is append-only")


# --- licence renewal 执业证书/资质到期提醒 (bpmn/licence_renewal.bpmn) -------------------------


class CredentialRenewal(models.Model):
    """The renewal of one credential. There is at most one per credential, ever: the daily
    scan starts it three calendar months before the credential's last valid day. The renewed
    credential is a new `Credential` row that `replaces` this one."""

    class Status(models.TextChoices):
        OPEN = "open", "Open 办理中"
        RENEWED = "renewed", "Renewed 已续期"

    credential = models.OneToOneField(Credential, on_delete=models.CASCADE, related_name="renewal")
    process_instance_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    started_at = models.DateTimeField(auto_now_add=True)
    renewed_at = models.DateTimeField(null=True, blank=True)
    # The new document clinic HR accepted (see workflows.Document).
    document = models.ForeignKey(
        "workflows.Document", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"renewal of {self.credential_id}: {self.status}"


class DutyRestriction(models.Model):
    """The employee is not eligible for duty in the role a credential covers: it expired
    without a renewal. Cleared (not deleted) when the renewal is accepted."""

    employee = models.ForeignKey(
        Employee, on_delete=models.CASCADE, related_name="duty_restrictions"
    )
    credential = models.ForeignKey(
        Credential, on_delete=models.CASCADE, related_name="duty_restrictions"
    )
    reason = models.CharField(max_length=300)
    started_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["credential"],
                condition=Q(cleared_at__isnull=True),
                name="one_open_restriction_per_credential",
            )
        ]

    def __str__(self) -> str:
        return f"{self.employee_id} not eligible ({self.credential_id})"


# --- compliance signals 合规信号 (bpmn/compliance_deduction.bpmn) ------------------------------


class ComplianceSignal(models.Model):
    """An event about an employee from a system or a person whose job is to report it
    (attendance system, patient survey, supervisor). Never from private chats or phones."""

    class Kind(models.TextChoices):
        ATTENDANCE_ANOMALY = "attendance_anomaly", "Attendance anomaly 考勤异常"
        LATE_ARRIVAL = "late_arrival", "Late arrival 迟到"
        PATIENT_COMPLAINT = "patient_complaint", "Patient complaint 患者投诉"
        PATIENT_COMMENDATION = "patient_commendation", "Patient commendation 患者表扬"
        PEER_REPORT = "peer_report", "Peer report 同事反映"

    class Severity(models.TextChoices):
        MINOR = "minor", "Minor 一般"
        MAJOR = "major", "Major 严重"

    employee = models.ForeignKey(
        Employee, on_delete=models.CASCADE, related_name="compliance_signals"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MINOR)
    occurred_at = models.DateTimeField()
    source = models.CharField(max_length=64, help_text="the sending system or reporter")
    idempotency_key = models.CharField(max_length=128)
    details = models.JSONField(default=dict, blank=True)
    # Decided by the compliance_signal_clause DMN at intake; "" when not a violation.
    clause_code = models.CharField(max_length=64, blank=True)
    is_violation = models.BooleanField(default=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(auto_now_add=True)
    # The compliance_deduction instance this violation counts towards (at most one).
    deduction_instance_id = models.BigIntegerField(null=True, blank=True)
    achievement = models.OneToOneField(
        Achievement, null=True, blank=True, on_delete=models.SET_NULL, related_name="signal"
    )

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "idempotency_key"], name="one_signal_per_source_key"
            )
        ]
        indexes = [models.Index(fields=["employee", "clause_code", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.kind} of {self.employee_id} at {self.occurred_at:%Y-%m-%d}"


class AppraisalInput(models.Model):
    """Points a signal adds to one indicator of the employee's monthly appraisal (e.g. a
    patient commendation: service attitude +5). Applied when the month's scores arrive."""

    employee = models.ForeignKey(
        Employee, on_delete=models.CASCADE, related_name="appraisal_inputs"
    )
    period_date = models.DateField(help_text="first day of the month")
    indicator_code = models.SlugField(max_length=64)
    points = models.DecimalField(max_digits=5, decimal_places=2)
    signal = models.OneToOneField(
        ComplianceSignal, on_delete=models.CASCADE, related_name="appraisal_input"
    )
    applied_to = models.ForeignKey(
        MonthlyAppraisal, null=True, blank=True, on_delete=models.SET_NULL, related_name="inputs"
    )

    class Meta:
        indexes = [models.Index(fields=["employee", "period_date"])]

    def __str__(self) -> str:
        return f"{self.employee_id} {self.indicator_code} {self.points:+}"


class DeductionNotice(models.Model):
    """A performance deduction notice 绩效扣减通知 after the third violation of one clause
    within 30 days. The supervisor confirms it (a negative `BonusRecord` for the month) or
    rejects it with a reason (recorded, nothing deducted)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending 待确认"
        CONFIRMED = "confirmed", "Confirmed 已确认"
        REJECTED = "rejected", "Rejected 已驳回"

    employee = models.ForeignKey(
        Employee, on_delete=models.CASCADE, related_name="deduction_notices"
    )
    clause_code = models.CharField(max_length=64)
    signals = models.ManyToManyField(ComplianceSignal, related_name="deduction_notices")
    period_date = models.DateField(help_text="month of the third violation")
    percent = models.DecimalField(max_digits=5, decimal_places=2)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    process_instance_id = models.BigIntegerField(unique=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    deduction = models.OneToOneField(
        BonusRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="notice"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"deduction {self.clause_code} of {self.employee_id}: {self.status}"


class TrainingAssignment(models.Model):
    """A course the employee must take by a due date (e.g. the mandatory training of a
    policy clause they violated)."""

    employee = models.ForeignKey(
        Employee, on_delete=models.CASCADE, related_name="training_assignments"
    )
    course = models.ForeignKey(TrainingCourse, on_delete=models.PROTECT, related_name="+")
    due_date = models.DateField()
    reason = models.CharField(max_length=300)
    process_instance_id = models.BigIntegerField(null=True, blank=True)
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_date"]

    def __str__(self) -> str:
        return f"{self.employee_id} must take {self.course_id} by {self.due_date}"


class CalendarDay(models.Model):
    """A day the group's working calendar treats unlike its weekday: a public holiday
    (法定节假日) on a weekday, or a weekend day worked in exchange for one (调休上班).

    Every other Monday to Friday is a working day and every other weekend day is not. The
    State Council publishes each year's holidays and exchanged days in November or
    December; group HR enters them here.
    """

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", "Public holiday 法定节假日"
        WORKING_DAY = "working_day", "Working day in exchange 调休上班"

    calendar_date = models.DateField(unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=100, help_text="e.g. 国庆节 National Day")

    class Meta:
        ordering = ["calendar_date"]
        verbose_name = "working calendar day"
        verbose_name_plural = "working calendar"

    def __str__(self) -> str:
        return f"{self.calendar_date} {self.get_kind_display()}: {self.name}"
