"""Catalogue and demo data, one module per process area; `seed_all` runs them in order."""

from hr.seed import (
    benefits,
    family,
    feedback,
    offboarding,
    onboarding,
    performance,
    promotion,
    stories,
)

AREAS = [onboarding, promotion, performance, benefits, feedback, offboarding, family, stories]


def seed_all() -> None:
    for area in AREAS:
        area.seed()
