"""Domain services of the feedback process."""
