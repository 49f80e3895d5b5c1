"""Credentials as values: a :class:`Secret` never shows its value in ``repr``, ``str``,
logs or tracebacks.

reviewkit never stores secrets; the host passes them in
(:func:`reviewkit.adapters.accounts.secret_from_env` reads one from the environment).
"""

from __future__ import annotations

import hmac
import re

__all__ = ["Secret", "redacted"]


def redacted(url: str) -> str:
    """*url* as shown in messages and logs: without its password."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class Secret:
    """A credential that does not leak into logs, tracebacks or ``repr``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret itself, for the one place that needs it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(Secret)
