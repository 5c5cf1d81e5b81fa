"""Service-task operations of the offboarding process."""
