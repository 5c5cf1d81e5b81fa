"""Catalogue and demo data of feedback closure (心声直达).

Nothing to seed: the categories and states are choices on `FeedbackTicket`, tickets exist
only when employees submit them (POST /api/v1/feedback), and routing needs nothing but the
org units and their heads (supervisor role), which the demo group already has.
"""


def seed() -> None:
    """Create the catalogue rows this area needs (none; kept so every area seeds alike)."""
