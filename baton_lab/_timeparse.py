"""Claimed timestamps: v1 dates, v2 ISO times, with or without offsets."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_time(raw: str | None) -> datetime | None:
    """ISO 8601 date or date-time as UTC; values without an offset are read as UTC (agents rarely write one).

    Returns None when the text is not a time: the raw text is kept beside it either way.
    """
    if not raw or not isinstance(raw, str):
        return None
    text = raw.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(text)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: 9999-12-31T23:59-05:00 is past year 9999 in UTC
        return None
