"""What every page's header needs: which areas the signed-in person may open. The role sets
are the API's own permission classes, so a page never offers what the API would refuse."""

from api.permissions import (
    HasAnyRole,
    IsAuditReader,
    IsDeployReviewer,
    IsIncidentReader,
    IsOperator,
    IsProcessOwner,
)
from api.views.metrics import IsMetricsReader
from hr.selectors import employee_of, roles_of
from workflows.selectors import notification_unread_count


def _holds(user, roles: set[str], permission: type[HasAnyRole]) -> bool:
    return user.is_superuser or bool(roles & set(permission.roles))


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    roles = roles_of(user)
    return {
        "me": employee_of(user),
        "can_model": _holds(user, roles, IsProcessOwner),
        # The service also requires the role itself (a superuser without it may not decide).
        "can_review_deploys": bool(roles & set(IsDeployReviewer.roles)),
        "can_audit": _holds(user, roles, IsAuditReader),
        "can_operate": _holds(user, roles, IsOperator),
        "can_see_incidents": _holds(user, roles, IsIncidentReader),
        "can_see_dashboards": _holds(user, roles, IsMetricsReader),
        "unread_notifications": notification_unread_count(user),
    }
