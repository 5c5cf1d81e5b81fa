"""Catalogue and demo data of the offboarding process."""


def seed() -> None:
    """Create the catalogue rows this area needs (idempotent)."""
