"""Domain services of the benefits process."""
