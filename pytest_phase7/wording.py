"""Words of one-line messages: counted nouns (``1 batch``, ``2 batches``) and bounded lists.

A message a user reads is one line, however many things it is about: :func:`shown_list` names the
first few and counts the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

#: Nouns whose plural is not the noun + ``s``.
_PLURALS = {"batch": "batches", "criterion": "criteria", "status": "statuses"}

#: Items a one-line list names before it counts the rest.
SHOWN_ITEMS = 3


def plural(count: int, noun: str) -> str:
    """``noun`` as it goes with ``count`` (``error`` / ``errors``)."""
    return noun if count == 1 else _PLURALS.get(noun, noun + "s")


def counted(count: int, noun: str) -> str:
    """``1 batch``, ``0 errors``, ``5 criteria``."""
    return f"{count} {plural(count, noun)}"


def shown_list(texts: Sequence[str], limit: int = SHOWN_ITEMS, *, separator: str = ", ") -> str:
    """The first ``limit`` texts, then how many more (``a, b, c and 9 more``).

    One more than ``limit`` is shown rather than counted: "and 1 more" would not be shorter.
    """
    if len(texts) <= limit + 1:
        return separator.join(texts)
    return separator.join(texts[:limit]) + f" and {len(texts) - limit} more"
