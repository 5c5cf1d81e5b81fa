"""The API personas of tests/api/conftest.py, for the security tests."""

from tests.api.conftest import leave_request, personas  # noqa: F401 - pytest fixtures
