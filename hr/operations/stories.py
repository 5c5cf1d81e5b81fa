"""Service-task operations of the story wall (bpmn/story_review.bpmn,
bpmn/story_monthly_award.bpmn). They act on the story named in the process data, and only
when it belongs to the calling instance."""

from typing import Any

from hr.operations.scopes import (
    PERIOD_OF_INSTANCE_AWARD,
    STORY_IN_INSTANCE_UNIT,
    STORY_OF_INSTANCE,
)
from hr.services import stories
from workflows.registry import OperationContext, Scope, operation


@operation("hr.story_publish", scope=Scope.INSTANCE, ids={"story_id": STORY_OF_INSTANCE})
def story_publish(ctx: OperationContext, story_id: int) -> dict[str, Any]:
    story = stories.story_publish(story_id=int(story_id), instance_id=ctx.instance_id)
    return {"status": story.status, "published_at": story.published_at.isoformat()}


@operation("hr.story_return", scope=Scope.INSTANCE, ids={"story_id": STORY_OF_INSTANCE})
def story_return(ctx: OperationContext, story_id: int, comment: str) -> dict[str, Any]:
    story = stories.story_return(
        story_id=int(story_id), instance_id=ctx.instance_id, comment=comment
    )
    return {"status": story.status}


@operation("hr.story_resubmit", scope=Scope.INSTANCE, ids={"story_id": STORY_OF_INSTANCE})
def story_resubmit(ctx: OperationContext, story_id: int, title: str, text: str) -> dict[str, Any]:
    story = stories.story_resubmit(
        story_id=int(story_id), instance_id=ctx.instance_id, title=title, text=text
    )
    return {"status": story.status}


@operation(
    "hr.story_award_record",
    scope=Scope.INSTANCE,
    ids={"period": PERIOD_OF_INSTANCE_AWARD, "story_id": STORY_IN_INSTANCE_UNIT},
    high_impact=True,
)
def story_award_record(ctx: OperationContext, period: str, story_id: int) -> dict[str, Any]:
    """{is_recorded, reason, certificate_reference, employee_no, extra_leave_days}"""
    return stories.story_award_record(
        period=str(period), story_id=int(story_id), instance_id=ctx.instance_id
    ).as_dict()
