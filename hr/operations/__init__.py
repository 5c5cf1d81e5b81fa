"""Operations BPMN service tasks may call, registered by name on import (one module a
process area)."""

from hr.operations import (  # noqa: F401 - imported for their registrations
    benefits,
    compliance,
    family,
    feedback,
    licences,
    offboarding,
    onboarding,
    performance,
    profile,
    promotion,
    stories,
    training,
)
