"""Consents: what a customer agreed to, when and how (publication consent and
other consents, shown beside every request).

A recipient carries its consents by name. :data:`PUBLICATION` is the one review platforms
ask for (may the review be published); a host names its own (``"marketing"``,
``"sms"``). A campaign may require consents: a request to a recipient who has not granted
one of them is never sent and ends Suppressed with the reason ``no_consent``.

A consent given or withdrawn later (on the phone, in the customer's account) is a
:class:`ConsentChange` in the store's consent log, kept with its source and time;
:func:`effective_consents` is what holds once the log is read over the recipient's
consents: the latest word wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

from reviewkit.domain.ids import new_id
from reviewkit.domain.instants import as_utc
from reviewkit.errors import ValidationError

__all__ = [
    "NO_WORDS",
    "PUBLICATION",
    "YES_WORDS",
    "Consent",
    "ConsentChange",
    "consents_from",
    "effective_consents",
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


def _consent_name(_: object, __: object, value: str) -> None:
    _check_name(value)


@attrs.frozen(kw_only=True)
class ConsentChange:
    """A consent one contact gave or withdrew, as the consent log keeps it.

    :ivar channel: ``"email"`` or ``"sms"``: the kind of *address*.
    :ivar address: the contact's address, normalised as requests keep it.
    :ivar name: the consent (``"publication"``, ``"marketing"``…).
    :ivar granted: given (``True``) or withdrawn / refused (``False``).
    :ivar at: when the customer said so (UTC).
    :ivar source: how: ``"phone call"``, ``"customer account"``, ``"support ticket 4411"``.
    :ivar recorded_at: when it was written down.
    """

    id: str = attrs.field(factory=new_id)
    channel: str
    address: str
    name: str = attrs.field(validator=_consent_name)
    granted: bool
    at: datetime = attrs.field(converter=as_utc)
    source: str | None = None
    recorded_at: datetime = attrs.field(converter=as_utc)

    def as_consent(self) -> Consent:
        """This change as the consent it leaves."""
        return Consent(granted=self.granted, at=self.at, source=self.source)


def effective_consents(
    given: Mapping[str, Consent], changes: Sequence[ConsentChange]
) -> Mapping[str, Consent]:
    """The consents that hold: *given* (as the recipient came, e.g. from an import) with the
    log's *changes* over them, the latest word winning. A change as old as a consent's own
    time, or about a consent given without a time, wins too (it was written down later)."""
    result = dict(given)
    for change in sorted(changes, key=lambda c: (c.at, c.recorded_at)):
        known = result.get(change.name)
        if known is None or known.at is None or as_utc(known.at) <= change.at:
            result[change.name] = change.as_consent()
    return MappingProxyType(result)
