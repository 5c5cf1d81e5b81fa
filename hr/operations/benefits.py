"""Service-task operations of the benefits process."""
