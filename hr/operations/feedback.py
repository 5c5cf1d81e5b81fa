"""Service-task operations of the feedback process."""
