"""The one clock the models use."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Naive UTC now: both backends store timestamps without zone, always in UTC."""
    return datetime.now(UTC).replace(tzinfo=None)
