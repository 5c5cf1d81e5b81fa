"""Domain errors raised by workflows services; the API maps each to one HTTP status."""


class WorkflowError(Exception):
    """Base of every error a service raises on purpose."""


class InvalidInput(WorkflowError):
    """Input failed validation (400). `errors` lists {field, message}."""

    def __init__(self, errors: list[dict[str, str]], message: str = "invalid input"):
        self.errors = errors
        super().__init__(
            message + ": " + "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        )


class DeployRefused(WorkflowError):
    """A bundle failed validation (400). `problems` lists {file, element, message}."""

    def __init__(self, problems: list[dict[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{p['file']} {p['element']}: {p['message']}" for p in problems))


class NotAllowed(WorkflowError):
    """The actor may not do this (403)."""


class NotFound(WorkflowError):
    """No such object, or none the actor may see (404)."""


class Conflict(WorkflowError):
    """The object is no longer in a state that allows this (409)."""
