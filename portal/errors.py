"""Domain errors that services raise and both the HTML and the API layer turn into a clear
message and the right status code."""


class DomainError(Exception):
    """Base class: ``message`` is safe to show to the user who caused it."""

    status_code = 422

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    status_code = 422


class InvalidTransition(DomainError):
    status_code = 409


class Conflict(DomainError):
    status_code = 409


class Forbidden(DomainError):
    status_code = 403
