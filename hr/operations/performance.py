"""Service-task operations of the performance process."""
