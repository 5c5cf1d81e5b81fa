"""Catalogue and demo data of the feedback process."""


def seed() -> None:
    """Create the catalogue rows this area needs (idempotent)."""
