"""Catalogue and demo data of the onboarding process."""


def seed() -> None:
    """Create the catalogue rows this area needs (idempotent)."""
