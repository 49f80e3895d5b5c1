"""The one rule for header values: no line breaks and no control characters.

A line break in a header value would let data (a customer's name, a subject, a custom field)
write headers of its own. reviewkit refuses such a value where it is set — a campaign's
subject template, its senders — and refuses a message whose rendered subject or address
carries one; it never folds or strips it silently.
"""

from __future__ import annotations

from reviewkit.errors import ValidationError

__all__ = ["LINE_BREAKS", "check_header_value", "header_problem"]

LINE_BREAKS = frozenset("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
"""Every character Python's ``str.splitlines`` (and so the e-mail package) breaks a line at."""


def header_problem(value: str) -> str | None:
    """Return what is wrong with *value* as a header value (``"a line break"`` or
    ``"a control character"``), or ``None`` when it is fine. A tab is allowed."""
    if any(c in LINE_BREAKS for c in value):
        return "a line break"
    if any((c < " " and c != "\t") or c == "\x7f" for c in value):
        return "a control character"
    return None


def check_header_value(what: str, value: str) -> None:
    """Refuse *value* for the header *what* if it has a line break or control character.

    :raises ValidationError: naming the header and the problem.
    """
    problem = header_problem(value)
    if problem is not None:
        raise ValidationError(f"{what} {value[:60]!r} contains {problem}; a header value cannot")
