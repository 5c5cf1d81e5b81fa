"""Domain services of the offboarding process."""
