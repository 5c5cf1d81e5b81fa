"""Catalogue and demo data, one module per process area; `seed_all` runs them in order."""

from hr.seed import (
    benefits,
    calendar,
    compliance,
    family,
    feedback,
    licences,
    offboarding,
    onboarding,
    performance,
    promotion,
    stories,
)

AREAS = [
    calendar,
    onboarding,
    promotion,
    performance,
    benefits,
    feedback,
    offboarding,
    family,
    stories,
    licences,
    compliance,
]


def seed_all() -> None:
    for area in AREAS:
        area.seed()
