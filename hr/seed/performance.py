"""Catalogue and demo data of the performance process."""


def seed() -> None:
    """Create the catalogue rows this area needs (idempotent)."""
