"""Who may call what: role checks shared by the views (scoping lives in selectors)."""

from rest_framework.permissions import BasePermission

from hr.models import RoleAssignment
from hr.selectors import has_role

Role = RoleAssignment.Role


class HasAnyRole(BasePermission):
    """Allows users holding one of `roles` (anywhere), and superusers."""

    roles: tuple[str, ...] = ()
    message = "your roles do not allow this"

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated) and (
            user.is_superuser or has_role(user, *self.roles)
        )


class IsProcessOwner(HasAnyRole):
    roles = (Role.PROCESS_OWNER,)


class IsProcessReader(HasAnyRole):
    """Process owners, auditors and group HR read definitions, versions and their files."""

    roles = (Role.PROCESS_OWNER, Role.AUDITOR, Role.GROUP_HR)


class IsAuditReader(HasAnyRole):
    """Roles that verify and export history (within the instances they can see)."""

    roles = (Role.AUDITOR, Role.GROUP_HR, Role.CLINIC_HR)


class IsOperator(HasAnyRole):
    """Group HR (and admins) operate instances: suspend, resume, terminate, retry."""

    roles = (Role.GROUP_HR,)


class IsIncidentReader(HasAnyRole):
    roles = (Role.GROUP_HR, Role.AUDITOR)


class IsMigrator(HasAnyRole):
    """Group HR and clinic HR move instances to another version (within their scope, which the
    service checks); process owners deploy versions but do not migrate instances."""

    roles = (Role.GROUP_HR, Role.CLINIC_HR)


class IsMessageSender(HasAnyRole):
    """Operators and integration accounts (attendance, appraisal systems) send messages."""

    roles = (Role.GROUP_HR, Role.INTEGRATION)


class IsAccessLogReader(HasAnyRole):
    """Auditors read who read personal data (within their unit's subtree)."""

    roles = (Role.AUDITOR,)


class IsDeployReviewer(HasAnyRole):
    """Group HR approve or reject the deploys that wait for a second person (four-eyes
    deploy); the service also refuses the deployer and anyone without the role."""

    roles = (Role.GROUP_HR,)
