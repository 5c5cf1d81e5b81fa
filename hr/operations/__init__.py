"""Operations BPMN service tasks may call, registered by name on import (one module a
process area)."""

from hr.operations import (  # noqa: F401 - imported for their registrations
    benefits,
    family,
    feedback,
    offboarding,
    onboarding,
    performance,
    profile,
    promotion,
    stories,
)
