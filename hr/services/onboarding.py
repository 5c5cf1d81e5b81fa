"""Domain services of the onboarding process."""
