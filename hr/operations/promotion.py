"""Service-task operations of the promotion process."""
