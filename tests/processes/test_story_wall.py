"""Story wall 员工故事墙 and the monthly award 月度感动人物, driven through the REST API.

A clinic submits a story with photos; group HR publishes it or returns it with comments;
the submitter revises and resubmits. Employees like (once each) and comment. On the 1st the
month's most appreciated stories go to group HR, whose choice is recorded on the employee.
"""

import datetime as dt
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from hr.models import BenefitEntitlement, BenefitType, Story, StoryAward
from hr.services import stories
from tests.processes.conftest import api, complete, deploy_shipped, open_tasks
from workers import tasks as worker_tasks
from workflows.models import Notification, ProcessInstance

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 10, 5, 1, 0, tzinfo=dt.UTC)  # Monday 5 October 2026, 09:00 Beijing
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60
AWARD_CANDIDATES = 3
AWARD_EXTRA_LEAVE_DAYS = Decimal("1")


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture
def wall(org, clock, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    deploy_shipped("story_review.bpmn")
    deploy_shipped("story_monthly_award.bpmn")


def photo(name="ward.png", content=PNG, content_type="image/png"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def submit(user, employee, photos=(), title="夜班里的微笑", text="..."):
    return api(user).post(
        "/api/v1/stories/",
        {"employee_no": employee.employee_no, "title": title, "text": text, "photos": list(photos)},
        format="multipart",
    )


def tasks_at(client, element_id: str) -> list[dict]:
    return [t for t in open_tasks(client) if t["element_id"] == element_id]


def review(org, decision: str, **extra) -> None:
    group_hr = api(org.group_hr.user)
    (task,) = tasks_at(group_hr, "review_story")
    complete(group_hr, task["id"], {"decision": decision, **extra})


def published_story(org, title="夜班里的微笑") -> Story:
    response = submit(org.east_hr.user, org.nurse, title=title)
    assert response.status_code == 201, response.content
    review(org, "publish")
    return Story.objects.get(pk=response.json()["id"])


# --- submit, review, publish or return -------------------------------------------------------


def test_a_clinic_submits_a_story_with_photos_and_group_hr_publishes_it(org, wall, settings):
    response = submit(
        org.east_hr.user, org.nurse, [photo(), photo("smile.jpg", JPEG, "image/jpeg")]
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["clinic"], body["employee_no"]) == (
        "submitted",
        "east",
        org.nurse.employee_no,
    )
    story = Story.objects.get(pk=body["id"])
    stored = [Path(p.image.path) for p in story.photos.order_by("pk")]
    assert [p.parent.parent.parent.name for p in stored] == ["stories", "stories"]
    assert all(str(p).startswith(str(settings.MEDIA_ROOT)) for p in stored)
    assert [p.content_type for p in story.photos.order_by("pk")] == ["image/png", "image/jpeg"]
    # not on the wall yet
    nurse = api(org.west_nurse.user)
    assert nurse.get("/api/v1/stories/").json()["results"] == []
    assert nurse.get(body["photos"][0]).status_code == 404

    review(org, "publish")

    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED
    assert story.published_at == START
    wall_page = nurse.get("/api/v1/stories/").json()["results"]
    assert [(s["id"], s["title"], s["review_comment"]) for s in wall_page] == [
        (story.pk, "夜班里的微笑", None)
    ]
    image = nurse.get(body["photos"][0])
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content) == PNG
    (told,) = Notification.objects.filter(recipient=org.east_hr.user, kind="message")
    assert told.title == "故事已发布 / Story published"
    instance = ProcessInstance.objects.get(pk=story.process_instance_id)
    assert instance.status == ProcessInstance.Status.COMPLETED


def test_a_returned_story_is_revised_resubmitted_and_published(org, wall):
    story_id = submit(org.head_nurse.user, org.nurse).json()["id"]

    review(org, "return", comment="请补充患者的感谢信内容")

    story = Story.objects.get(pk=story_id)
    assert (story.status, story.review_comment) == ("returned", "请补充患者的感谢信内容")
    submitter = api(org.head_nurse.user)
    (mine,) = submitter.get("/api/v1/stories/?mine=true").json()["results"]
    assert (mine["status"], mine["review_comment"]) == ("returned", "请补充患者的感谢信内容")
    (revise,) = tasks_at(submitter, "revise_story")
    data = submitter.get(f"/api/v1/tasks/{revise['id']}").json()["form"]["data"]
    assert data["comment"] == "请补充患者的感谢信内容"
    assert api(org.nurse.user).get(f"/api/v1/stories/{story_id}/").status_code == 404

    complete(
        submitter, revise["id"], {"story_title": "夜班里的微笑（修订）", "story_text": "更多细节"}
    )

    story.refresh_from_db()
    assert (story.status, story.title, story.text) == (
        "submitted",
        "夜班里的微笑（修订）",
        "更多细节",
    )
    review(org, "publish")
    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED
    assert api(org.nurse.user).get(f"/api/v1/stories/{story_id}/").json()["title"] == (
        "夜班里的微笑（修订）"
    )


def test_returning_without_comments_is_refused(org, wall):
    submit(org.east_hr.user, org.nurse)
    group_hr = api(org.group_hr.user)
    (task,) = tasks_at(group_hr, "review_story")

    response = group_hr.post(
        f"/api/v1/tasks/{task['id']}/complete", {"data": {"decision": "return"}}, format="json"
    )

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("who", "status"),
    [("nurse", 403), ("west_hr", 403), ("group_hr", 403), ("head_nurse", 201), ("east_hr", 201)],
)
def test_only_clinic_hr_or_a_supervisor_of_the_employee_submits(org, wall, who, status):
    response = submit(getattr(org, who).user, org.nurse)

    assert response.status_code == status, response.content


@pytest.mark.parametrize(
    ("photos", "field"),
    [
        ([photo("notes.png", b"%PDF-1.7 not an image", "image/png")], "photos.0"),
        ([photo(), photo("big.png", PNG + b"\x00" * 2048)], "photos.1"),
        ([photo(f"p{n}.png") for n in range(7)], "photos"),
    ],
)
def test_photos_are_checked(org, wall, settings, photos, field):
    settings.CAREFLOW_STORY_PHOTO_MAX_BYTES = 1024

    response = submit(org.east_hr.user, org.nurse, photos)

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert Story.objects.count() == 0
    assert not (Path(settings.MEDIA_ROOT) / "stories").exists()


def test_the_photo_limits(settings):
    assert django_settings.CAREFLOW_STORY_PHOTOS_MAX == 6
    assert django_settings.CAREFLOW_STORY_PHOTO_MAX_BYTES == 5 * 1024 * 1024


# --- likes and comments ----------------------------------------------------------------------


def test_one_like_per_person(org, wall):
    story = published_story(org)
    url = f"/api/v1/stories/{story.pk}/likes/"

    first = api(org.nurse.user).post(url)
    again = api(org.nurse.user).post(url)
    other = api(org.west_nurse.user).post(url)

    assert (first.status_code, first.json()) == (201, {"liked": True, "likes": 1})
    assert (again.status_code, again.json()) == (200, {"liked": True, "likes": 1})
    assert (other.status_code, other.json()) == (201, {"liked": True, "likes": 2})
    assert api(org.nurse.user).get(f"/api/v1/stories/{story.pk}/").json()["likes"] == 2


def test_comments_on_a_published_story(org, wall):
    story = published_story(org)
    url = f"/api/v1/stories/{story.pk}/comments/"

    added = api(org.west_nurse.user).post(url, {"text": "向你学习！"}, format="json")
    blank = api(org.west_nurse.user).post(url, {"text": "  "}, format="json")

    assert added.status_code == 201
    assert blank.status_code == 400
    listed = api(org.nurse.user).get(url).json()["results"]
    assert [(c["author"], c["text"]) for c in listed] == [("west_nurse", "向你学习！")]


def test_a_story_in_review_cannot_be_liked_or_commented(org, wall):
    story_id = submit(org.east_hr.user, org.nurse).json()["id"]

    liked = api(org.nurse.user).post(f"/api/v1/stories/{story_id}/likes/")
    commented = api(org.nurse.user).post(
        f"/api/v1/stories/{story_id}/comments/", {"text": "hi"}, format="json"
    )

    assert (liked.status_code, commented.status_code) == (404, 404)


# --- the monthly award -----------------------------------------------------------------------


@pytest.fixture
def annual_leave(db):
    return BenefitType.objects.create(
        code="annual_leave", name="Annual leave 年假", category="statutory", unit="days"
    )


def appreciate(clock, story, at, likes=(), comments=()):
    clock.move_to(at, tick=False)
    for user in likes:
        stories.story_like(story_id=story.pk, user=user)
    for user in comments:
        stories.story_comment_add(story_id=story.pk, user=user, text="👍")


@pytest.fixture
def october(org, wall, clock, annual_leave):
    """Four published stories and what they received in October 2026 (and around it)."""
    people = [org.nurse.user, org.west_nurse.user, org.head_nurse.user, org.west_hr.user]
    a = published_story(org, "A")
    b = published_story(org, "B")
    c = published_story(org, "C")
    d = published_story(org, "D")
    oct_10 = dt.datetime(2026, 10, 10, 2, 0, tzinfo=dt.UTC)
    # A: 2 likes + 1 comment = 3
    appreciate(clock, a, oct_10, likes=people[:2], comments=people[:1])
    # B: 1 like + 2 comments = 3 (tied with A, fewer likes)
    appreciate(clock, b, oct_10, likes=people[:1], comments=people[:2])
    # C: 4 likes on 30 Sep 23:00 Beijing and 1 on 1 Nov 00:30 Beijing: 0 in October
    appreciate(clock, c, dt.datetime(2026, 9, 30, 15, 0, tzinfo=dt.UTC), likes=people)
    # D: 2 likes + 0 comments = 2
    appreciate(clock, d, oct_10, likes=people[2:])
    appreciate(clock, c, dt.datetime(2026, 10, 31, 16, 30, tzinfo=dt.UTC), likes=people[:1])
    BenefitEntitlement.objects.create(
        employee=org.nurse, benefit_type=annual_leave, year=2026, balance=5
    )
    return {"A": a, "B": b, "C": c, "D": d}


def test_the_candidates_are_the_most_appreciated_of_the_month(october):
    candidates = stories.story_award_candidates(period_date=dt.date(2026, 10, 1))

    assert len(candidates) == AWARD_CANDIDATES
    assert [(c["title"], c["likes"], c["comments"], c["score"]) for c in candidates] == [
        ("A", 2, 1, 3),  # tie on 3 with B: more likes first
        ("B", 1, 2, 3),
        ("D", 2, 0, 2),
    ]


def test_group_hr_chooses_the_award_and_it_is_recorded_on_the_employee(org, october, clock):
    clock.move_to(dt.datetime(2026, 11, 1, 0, 0, tzinfo=dt.UTC), tick=False)  # 08:00 Beijing
    out = StringIO()

    call_command("story_monthly_award", "--date", "2026-11-01", stdout=out)

    assert out.getvalue().strip() == "award round 2026-10 opened with 3 candidates"
    group_hr = api(org.group_hr.user)
    (task,) = tasks_at(group_hr, "choose_monthly_award")
    data = group_hr.get(f"/api/v1/tasks/{task['id']}").json()["form"]["data"]
    assert [c["title"] for c in data["candidates"]] == ["A", "B", "D"]

    # C is no candidate: nothing is recorded and the choice comes back
    complete(group_hr, task["id"], {"winner_story_id": october["C"].pk, "citation": "..."})
    (task,) = tasks_at(group_hr, "choose_monthly_award")
    assert StoryAward.objects.get().story is None

    complete(group_hr, task["id"], {"winner_story_id": october["B"].pk, "citation": "温暖人心"})

    award = StoryAward.objects.get()
    assert (award.period_date, award.story, award.employee) == (
        dt.date(2026, 10, 1),
        october["B"],
        org.nurse,
    )
    assert award.certificate_reference == f"CF-AWARD-202610-{october['B'].pk:05d}"
    assert award.extra_leave_days == AWARD_EXTRA_LEAVE_DAYS
    leave = BenefitEntitlement.objects.get(employee=org.nurse, year=2026)
    assert leave.balance == Decimal("5") + AWARD_EXTRA_LEAVE_DAYS
    (told,) = Notification.objects.filter(recipient=org.nurse.user, kind="message")
    assert told.title == "月度感动人物 / Monthly award"
    assert award.certificate_reference in told.body
    instance = ProcessInstance.objects.get(pk=award.process_instance_id)
    assert instance.status == ProcessInstance.Status.COMPLETED


def test_the_monthly_scan_runs_once_a_month(org, october, clock):
    clock.move_to(dt.datetime(2026, 11, 1, 0, 0, tzinfo=dt.UTC), tick=False)
    first = worker_tasks.story_monthly_award.apply().get()
    second = worker_tasks.story_monthly_award.apply().get()

    assert first == StoryAward.objects.get(period_date=dt.date(2026, 10, 1)).pk
    assert second is None
    assert ProcessInstance.objects.filter(definition__key="story_monthly_award").count() == 1


def test_the_scans_are_on_the_beat_schedule(settings):
    schedule = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}

    assert {"workers.family_birthday_reminders", "workers.story_monthly_award"} <= schedule


def test_a_month_without_appreciation_opens_no_round(org, wall):
    published_story(org)
    out = StringIO()

    call_command("story_monthly_award", "--date", "2026-11-01", stdout=out)

    assert out.getvalue().strip() == "no award round opened (already open, or no candidates)"
    assert StoryAward.objects.count() == 0
