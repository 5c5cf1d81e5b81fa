"""Service-task operations of the onboarding process."""
