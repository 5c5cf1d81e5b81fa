"""Story wall 员工故事墙 and the monthly award 月度感动人物.

A clinic (its clinic HR, or a supervisor over the employee) submits a story about a staff
member with photos; the `story_review` process puts it to group HR, who publish it or return
it with comments to the submitter, who revises and resubmits. Employees like (once each) and
comment on published stories. On the 1st of each month the stories most appreciated in the
month before (likes + comments received in it) go to group HR as the candidates of the
`story_monthly_award` process; the award is recorded on the employee with a certificate
reference and one extra day of annual leave.
"""

import datetime as dt
from dataclasses import asdict, dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from hr.models import (
    BenefitEntitlement,
    BenefitType,
    Employee,
    OrgUnit,
    RoleAssignment,
    Story,
    StoryAward,
    StoryComment,
    StoryLike,
    StoryPhoto,
)
from hr.selectors import has_role, holds_role_over
from workflows import notifications
from workflows import services as workflow_services
from workflows.exceptions import Conflict, InvalidInput, NotAllowed, NotFound
from workflows.models import Notification, ProcessInstance

REVIEW_PROCESS_KEY = "story_review"
AWARD_PROCESS_KEY = "story_monthly_award"
Role = RoleAssignment.Role
Status = Story.Status
# How many stories are put to group HR each month, and what the award adds to the winner's
# annual leave balance of the year it is given.
AWARD_CANDIDATES = 3
AWARD_EXTRA_LEAVE_DAYS = Decimal("1")
ANNUAL_LEAVE = "annual_leave"
# Accepted photo types, recognised by their first bytes (not by the name or the client's
# content type, which the sender chooses).
IMAGE_SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}


def _image_type(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    for content_type, signatures in IMAGE_SIGNATURES.items():
        if any(head.startswith(s) for s in signatures):
            return content_type
    return None


def story_photos_check(photos: list[UploadedFile]) -> list[str]:
    """The content type of each photo; InvalidInput naming `photos` for a bad one."""
    max_count = settings.CAREFLOW_STORY_PHOTOS_MAX
    max_bytes = settings.CAREFLOW_STORY_PHOTO_MAX_BYTES
    if len(photos) > max_count:
        raise InvalidInput([{"field": "photos", "message": f"at most {max_count} photos"}])
    types = []
    for index, photo in enumerate(photos):
        if photo.size > max_bytes:
            message = f"photo {photo.name!r} is larger than {max_bytes} bytes"
            raise InvalidInput([{"field": f"photos.{index}", "message": message}])
        photo.seek(0)
        content_type = _image_type(photo.read(16))
        photo.seek(0)
        if content_type is None:
            message = f"photo {photo.name!r} is not a JPEG, PNG, GIF or WebP image"
            raise InvalidInput([{"field": f"photos.{index}", "message": message}])
        types.append(content_type)
    return types


def _may_submit_about(user: AbstractBaseUser, employee: Employee) -> bool:
    return user.is_superuser or any(
        holds_role_over(user, role, employee.org_unit) for role in (Role.CLINIC_HR, Role.SUPERVISOR)
    )


@transaction.atomic
def story_submit(
    *,
    user: AbstractBaseUser,
    employee_no: str,
    title: str,
    text: str,
    photos: list[UploadedFile],
) -> Story:
    """A clinic submits a story about one of its staff; group HR reviews it."""
    employee = Employee.objects.select_related("org_unit").filter(employee_no=employee_no).first()
    if employee is None:
        raise InvalidInput([{"field": "employee_no", "message": "no employee with this number"}])
    if not _may_submit_about(user, employee):
        raise NotAllowed("only clinic HR or a supervisor of the employee may submit their story")
    clinic = employee.org_unit.ancestor_of_kind(OrgUnit.Kind.CLINIC)
    if clinic is None:
        raise InvalidInput([{"field": "employee_no", "message": "the employee is in no clinic"}])
    types = story_photos_check(photos)
    story = Story.objects.create(
        clinic=clinic, employee=employee, title=title, text=text, submitted_by=user
    )
    for photo, content_type in zip(photos, types, strict=True):
        row = StoryPhoto(story=story, content_type=content_type, size_bytes=photo.size)
        row.image.save(f"story-{story.pk}.{EXTENSIONS[content_type]}", photo, save=False)
        row.save()
    instance = workflow_services.instance_start(
        process_key=REVIEW_PROCESS_KEY,
        started_by=user,
        subject=employee,
        org_unit=clinic,
        business_key=f"story:{story.pk}",
        data={
            "story_id": story.pk,
            "story_title": title,
            "story_text": text,
            "clinic": clinic.code,
        },
    )
    story.process_instance_id = instance.pk
    story.save(update_fields=["process_instance_id"])
    return story


def _story_of_instance(story_id: int, instance_id: int | None) -> Story:
    """The story a review instance works on; a story submitted outside the API has none."""
    story = Story.objects.select_for_update().filter(pk=story_id).first()
    if story is None or instance_id is None:
        raise NotFound(f"no story {story_id}")
    if story.process_instance_id != instance_id:
        raise Conflict(f"story {story_id} belongs to another review")
    return story


@transaction.atomic
def story_publish(*, story_id: int, instance_id: int | None) -> Story:
    """Group HR published the story: it shows on the wall from now."""
    story = _story_of_instance(story_id, instance_id)
    story.status = Status.PUBLISHED
    story.review_comment = ""
    story.published_at = story.published_at or timezone.now()
    story.save(update_fields=["status", "review_comment", "published_at"])
    return story


@transaction.atomic
def story_return(*, story_id: int, instance_id: int | None, comment: str) -> Story:
    """Group HR returned the story to its submitter with comments."""
    story = _story_of_instance(story_id, instance_id)
    story.status = Status.RETURNED
    story.review_comment = comment
    story.save(update_fields=["status", "review_comment"])
    return story


@transaction.atomic
def story_resubmit(*, story_id: int, instance_id: int | None, title: str, text: str) -> Story:
    """The submitter revised the story; it goes back to review."""
    story = _story_of_instance(story_id, instance_id)
    story.title = title
    story.text = text
    story.status = Status.SUBMITTED
    story.save(update_fields=["title", "text", "status"])
    return story


# --- reading, likes and comments -------------------------------------------------------------


def story_visible(*, story_id: int, user: AbstractBaseUser) -> Story:
    """A published story (anyone signed in), or one the user submitted, or any for group HR."""
    story = Story.objects.select_related("employee", "clinic").filter(pk=story_id).first()
    if story is None:
        raise NotFound(f"no story {story_id}")
    if story.status == Status.PUBLISHED or story.submitted_by_id == user.pk:
        return story
    if user.is_superuser or has_role(user, Role.GROUP_HR):
        return story
    raise NotFound(f"no story {story_id}")


def stories_with_counts(queryset: QuerySet[Story]) -> QuerySet[Story]:
    """`queryset` with `like_count` and `comment_count`, and the photos prefetched."""
    return queryset.annotate(
        like_count=Count("likes", distinct=True), comment_count=Count("comments", distinct=True)
    ).prefetch_related("photos")


def _published(story_id: int) -> Story:
    story = Story.objects.filter(pk=story_id, status=Status.PUBLISHED).first()
    if story is None:
        raise NotFound(f"no published story {story_id}")
    return story


@dataclass(frozen=True)
class LikeResult:
    is_new: bool
    likes: int


def story_like(*, story_id: int, user: AbstractBaseUser) -> LikeResult:
    """Like a published story; liking again changes nothing."""
    story = _published(story_id)
    try:
        with transaction.atomic():
            _, is_new = StoryLike.objects.get_or_create(story=story, user=user)
    except IntegrityError:  # the same person's second request, at the same moment
        is_new = False
    return LikeResult(is_new=is_new, likes=story.likes.count())


def story_comment_add(*, story_id: int, user: AbstractBaseUser, text: str) -> StoryComment:
    text = text.strip()
    if not text:
        raise InvalidInput([{"field": "text", "message": "this field may not be blank"}])
    return StoryComment.objects.create(story=_published(story_id), author=user, text=text)


# --- the monthly award -----------------------------------------------------------------------


def month_bounds(period_date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The first instant of the month and of the next, in the group's time zone."""
    start = period_date.replace(day=1)
    following = (start + dt.timedelta(days=32)).replace(day=1)
    return (
        timezone.make_aware(dt.datetime.combine(start, dt.time.min)),
        timezone.make_aware(dt.datetime.combine(following, dt.time.min)),
    )


def story_award_candidates(*, period_date: dt.date, limit: int = AWARD_CANDIDATES) -> list[dict]:
    """The published stories most appreciated in the month: score = likes + comments received
    in it. Ties: more likes first, then the earlier published, then the lower id. Stories with
    no appreciation in the month, and stories that already won, are not candidates."""
    start, end = month_bounds(period_date)
    in_month_likes = Q(likes__created_at__gte=start, likes__created_at__lt=end)
    in_month_comments = Q(comments__created_at__gte=start, comments__created_at__lt=end)
    ranked = (
        Story.objects.filter(status=Status.PUBLISHED, award__isnull=True)
        .annotate(
            month_likes=Count("likes", filter=in_month_likes, distinct=True),
            month_comments=Count("comments", filter=in_month_comments, distinct=True),
        )
        .annotate(score=F("month_likes") + F("month_comments"))
        .filter(score__gt=0)
        .select_related("employee", "clinic")
        .order_by("-score", "-month_likes", "published_at", "pk")[:limit]
    )
    return [
        {
            "story_id": s.pk,
            "title": s.title,
            "employee_no": s.employee.employee_no,
            "employee_name": s.employee.name,
            "clinic": s.clinic.name,
            "likes": s.month_likes,
            "comments": s.month_comments,
            "score": s.score,
        }
        for s in ranked
    ]


def _previous_month(today: dt.date) -> dt.date:
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _group() -> OrgUnit | None:
    return OrgUnit.objects.filter(kind=OrgUnit.Kind.GROUP).order_by("pk").first()


def story_monthly_award_start(*, today: dt.date | None = None) -> StoryAward | None:
    """The monthly scan: put the month before's candidates to group HR, once per month.
    Nothing is started for a month without candidates."""
    period = _previous_month(today or timezone.localdate())
    candidates = story_award_candidates(period_date=period)
    if not candidates:
        return None
    try:
        with transaction.atomic():
            award = StoryAward.objects.create(period_date=period, candidates=candidates)
            instance = workflow_services.instance_start(
                process_key=AWARD_PROCESS_KEY,
                started_by=None,
                org_unit=_group(),
                business_key=f"story-award:{period:%Y-%m}",
                data={"period": f"{period:%Y-%m}", "candidates": candidates},
            )
            award.process_instance_id = instance.pk
            award.save(update_fields=["process_instance_id"])
    except IntegrityError:  # this month's round exists already
        return None
    return award


@dataclass(frozen=True)
class AwardResult:
    is_recorded: bool
    reason: str = ""
    certificate_reference: str = ""
    employee_no: str = ""
    extra_leave_days: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def _add_leave_day(employee: Employee, year: int) -> None:
    leave_type = BenefitType.objects.filter(code=ANNUAL_LEAVE).first()
    if leave_type is None:
        raise NotFound(f"no benefit type {ANNUAL_LEAVE!r}")
    entitlement, _ = BenefitEntitlement.objects.select_for_update().get_or_create(
        employee=employee, benefit_type=leave_type, year=year, defaults={"balance": 0}
    )
    entitlement.balance = entitlement.balance + AWARD_EXTRA_LEAVE_DAYS
    entitlement.save(update_fields=["balance"])


@transaction.atomic
def story_award_record(*, period: str, story_id: int, instance_id: int | None) -> AwardResult:
    """Give the month's award to the chosen candidate: certificate reference, one extra day
    of annual leave, a notification to the employee. Choosing a story that is not a
    candidate changes nothing (the reason says why); recording twice keeps the first."""
    period_date = dt.date.fromisoformat(f"{period}-01")
    award = StoryAward.objects.select_for_update().filter(period_date=period_date).first()
    if award is None or award.process_instance_id != instance_id:
        raise NotFound(f"no award round {period} for this process")
    if award.story_id is not None:
        return AwardResult(
            True,
            certificate_reference=award.certificate_reference,
            employee_no=award.employee.employee_no,
            extra_leave_days=float(award.extra_leave_days),
        )
    if story_id not in {c["story_id"] for c in award.candidates}:
        return AwardResult(False, reason=f"story {story_id} is not a candidate of {period}")
    story = Story.objects.select_related("employee__user").get(pk=story_id)
    now = timezone.now()
    award.story = story
    award.employee = story.employee
    award.certificate_reference = f"CF-AWARD-{period_date:%Y%m}-{story.pk:05d}"
    award.extra_leave_days = AWARD_EXTRA_LEAVE_DAYS
    award.awarded_at = now
    award.save()
    _add_leave_day(story.employee, timezone.localdate(now).year)
    if story.employee.user is not None:
        notifications.notify(
            kind=Notification.Kind.MESSAGE,
            recipients=[story.employee.user],
            title="月度感动人物 / Monthly award",
            body=(
                f"恭喜！您的故事“{story.title}”获评{period_date:%Y年%m月}月度感动人物，"
                f"证书编号 {award.certificate_reference}，另加年假 1 天。\n"
                f"Congratulations! Your story “{story.title}” won the monthly award of "
                f"{period}: certificate {award.certificate_reference}, one extra day of "
                "annual leave."
            ),
            instance=ProcessInstance.objects.filter(pk=instance_id).first(),
        )
    return AwardResult(
        True,
        certificate_reference=award.certificate_reference,
        employee_no=story.employee.employee_no,
        extra_leave_days=float(AWARD_EXTRA_LEAVE_DAYS),
    )
