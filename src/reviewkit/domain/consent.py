"""Consents: what a customer agreed to, when and how (publication consent and
other consents, shown beside every request).

A recipient carries its consents by name. :data:`PUBLICATION` is the one review platforms
ask for (may the review be published); a host names its own (``"marketing"``,
``"sms"``). A campaign may require consents: a request to a recipient who has not granted
one of them is never sent and ends Suppressed with the reason ``no_consent``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

from reviewkit.errors import ValidationError

__all__ = [
    "NO_WORDS",
    "PUBLICATION",
    "YES_WORDS",
    "Consent",
    "consents_from",
    "missing_consents",
    "parse_yes_no",
]

PUBLICATION = "publication"
"""The consent to publish the customer's review."""


def _check_aware(_: object, __: attrs.Attribute[datetime | None], value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise ValidationError("a consent time must be timezone-aware")


@attrs.frozen(kw_only=True)
class Consent:
    """One consent of one customer.

    :param granted: given (``True``) or refused / withdrawn (``False``).
    :param at: when it was given or refused, if known.
    :param source: how: ``"checkout checkbox"``, ``"import orders-2026-11.csv"``, ``"phone call"``.
    """

    granted: bool
    at: datetime | None = attrs.field(default=None, validator=_check_aware)
    source: str | None = None


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or any(c in name for c in "\r\n,"):
        raise ValidationError(f"consent name {name!r} must be non-empty text without commas")
    return name.strip()


YES_WORDS = frozenset({"yes", "y", "tak", "t", "1", "true", "x", "prawda"})
"""Words that grant a consent (any letter case): English and Polish, and spreadsheet marks."""

NO_WORDS = frozenset({"no", "n", "nie", "0", "false", "fałsz", "falsz"})
"""Words that refuse a consent (any letter case)."""


def parse_yes_no(text: str) -> bool | None:
    """Read a consent's answer: ``True`` for a yes word, ``False`` for a no word, ``None`` for
    an empty text (unknown).

    :raises ValidationError: any other text.
    """
    value = text.strip().lower()
    if not value:
        return None
    if value in YES_WORDS:
        return True
    if value in NO_WORDS:
        return False
    raise ValidationError(f"{text!r} is not yes/no (tak/nie, 1/0)")


def consents_from(value: Mapping[str, Consent | bool] | None) -> Mapping[str, Consent]:
    """Return a read-only mapping of consents; a plain ``bool`` means granted or not, with no
    time or source."""
    result: dict[str, Consent] = {}
    for name, consent in (value or {}).items():
        if isinstance(consent, bool):
            consent = Consent(granted=consent)
        elif not isinstance(consent, Consent):
            raise ValidationError(f"consent {name!r} must be a Consent or a bool, not {consent!r}")
        result[_check_name(name)] = consent
    return MappingProxyType(result)


def missing_consents(required: tuple[str, ...], given: Mapping[str, Consent]) -> list[str]:
    """Return the names in *required* that *given* does not grant (absent or refused)."""
    return [name for name in required if not (name in given and given[name].granted)]


def consents_to_json(consents: Mapping[str, Consent]) -> dict[str, Any]:
    """The JSON shape stores keep consents in: ``{name: [granted, ISO time or null, source]}``."""
    return {
        name: [c.granted, None if c.at is None else c.at.isoformat(), c.source]
        for name, c in consents.items()
    }


def consents_from_json(data: Mapping[str, Any]) -> Mapping[str, Consent]:
    """Read what :func:`consents_to_json` wrote."""
    return MappingProxyType(
        {
            name: Consent(
                granted=bool(granted),
                at=None if at is None else datetime.fromisoformat(at),
                source=source,
            )
            for name, (granted, at, source) in data.items()
        }
    )
