"""Domain errors raised by services and turned into responses in one place."""

from .unit_of_work import refused


class NotFoundError(LookupError):
    """The object does not exist, or is not the caller's to see (never tell which)."""


class RuleError(ValueError):
    """A domain rule refused the action; the message is shown to the member as is."""

    status_code = 422  # what a route answers a plain form with (htmx gets its fragment)

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        refused()  # the request or command that meets a refusal keeps nothing (unit_of_work)


class ConflictError(RuleError):
    """The action collides with what is already recorded (another member's pending
    completion, an offer already made): answered 409, with the message, never a 500."""

    status_code = 409
