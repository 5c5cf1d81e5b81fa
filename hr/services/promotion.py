"""Domain services of the promotion process."""
