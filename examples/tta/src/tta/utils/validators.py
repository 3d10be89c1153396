"""Small validators for player-supplied input; each returns the cleaned value or raises."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9 _'-]{1,23}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class ValidationError(ValueError):
    """Player input was rejected; the message is safe to show to the player."""


def player_name(value: str) -> str:
    """A display name: 2-24 characters, starting with a letter; inner spaces are collapsed."""
    cleaned = " ".join(value.split())
    if not _NAME.match(cleaned):
        raise ValidationError(
            "names are 2-24 letters, digits, spaces, ' _ or -, starting with a letter"
        )
    return cleaned


def email(value: str) -> str:
    """A plausible e-mail address, lower-cased."""
    cleaned = value.strip().lower()
    if not _EMAIL.match(cleaned):
        raise ValidationError(f"{value!r} does not look like an e-mail address")
    return cleaned


def choice(value: str, options: Sequence[str]) -> str:
    """One of ``options``, matched case-insensitively; returns the option as spelled there."""
    wanted = value.strip().casefold()
    for option in options:
        if option.casefold() == wanted:
            return option
    raise ValidationError(f"choose one of: {', '.join(options)}")


def bounded_int(value: str | int, low: int, high: int) -> int:
    """An integer (or integer text) within ``low..high`` inclusive."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{value!r} is not a whole number") from None
    if not low <= number <= high:
        raise ValidationError(f"{number} is not between {low} and {high}")
    return number


def free_text(value: str, max_length: int = 500) -> str:
    """Player free text: NFC-normalised, control characters removed, trimmed, length-limited."""
    cleaned = _CONTROL.sub("", unicodedata.normalize("NFC", value)).strip()
    if not cleaned:
        raise ValidationError("please type something")
    if len(cleaned) > max_length:
        raise ValidationError(f"please keep it under {max_length} characters")
    return cleaned
