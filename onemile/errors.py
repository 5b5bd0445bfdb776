"""Domain errors raised by services and turned into responses in one place."""


class NotFoundError(LookupError):
    """The object does not exist, or is not the caller's to see (never tell which)."""


class RuleError(ValueError):
    """A domain rule refused the action; the message is shown to the member as is."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
