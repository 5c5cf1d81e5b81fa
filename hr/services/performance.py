"""Domain services of the performance process."""
