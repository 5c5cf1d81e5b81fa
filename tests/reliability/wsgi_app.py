"""CareFlow's WSGI application plus the test.* service-task operations of the fixture
processes (tests/workers/operations.py), for the gunicorn the fault tests start."""

from config.wsgi import application
from tests.workers import operations  # noqa: F401 - registers the test.* operations

__all__ = ["application"]
