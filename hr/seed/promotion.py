"""Catalogue and demo data of the promotion process."""


def seed() -> None:
    """Create the catalogue rows this area needs (idempotent)."""
