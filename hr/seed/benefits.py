"""Catalogue and demo data of the benefits process."""


def seed() -> None:
    """Create the catalogue rows this area needs (idempotent)."""
