"""The collection view: which requests to show, in pages.

A :class:`RequestQuery` is a filter: a date range on the scheduled or the sent time,
customer segments, categories, channels, a campaign, and a search by e-mail, phone or
transaction id. Stores answer it newest first with keyset pages: a page ends with a
cursor, and the next page starts after it, so a page deep in the result costs what the
first one does and rows added meanwhile neither repeat nor vanish.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any

import attrs

from reviewkit.domain.campaign import Channel
from reviewkit.domain.consent import PUBLICATION
from reviewkit.domain.contacts import normalize_email
from reviewkit.domain.request import Request, RequestCategory
from reviewkit.domain.sms import normalize_phone
from reviewkit.errors import ValidationError

__all__ = [
    "EXPORT_COLUMNS",
    "PAGE_SIZES",
    "DateField",
    "RequestPage",
    "RequestQuery",
    "Search",
    "check_page_size",
    "export_row",
    "neutralize_cell",
    "neutralized",
    "parse_search",
    "restore_cell",
]

PAGE_SIZES = (25, 50, 100)
"""The page sizes the view offers."""


class DateField(enum.StrEnum):
    """Which time the date range and the order read."""

    SCHEDULED = "scheduled"
    """The time the request was made for (it does not move on retries)."""
    SENT = "sent"
    """The time it was first sent; requests not sent yet are left out."""


@attrs.frozen(kw_only=True)
class Search:
    """A search, read into what it can match: an e-mail, a phone number (E.164) and/or a
    transaction id. A request matches when any of the given ones does."""

    email: str | None = None
    phone: str | None = None
    transaction_id: str | None = None


_PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]{6,}$")


def parse_search(text: str, default_region: str | None = "PL") -> Search:
    """Read what an operator typed into the search box.

    ``jan@example.com`` → an e-mail (normalised); ``+48 500-100-200``, ``(500) 100 200``,
    ``0048500100200`` → a phone (E.164, read in *default_region*) and also a transaction id
    as typed, since order numbers are often digits; anything else → a transaction id.

    :raises ValidationError: for an empty search or a malformed e-mail address.
    """
    text = text.strip()
    if not text:
        raise ValidationError("the search is empty")
    if "@" in text:
        return Search(email=normalize_email(text))
    if _PHONE_LIKE.match(text):
        candidate = "+" + text[2:] if text.startswith("00") else text
        try:
            phone = normalize_phone(candidate, default_region)
        except ValidationError:
            phone = None
        return Search(phone=phone, transaction_id=text)
    return Search(transaction_id=text)


def _enum_tuple(kind: type[enum.StrEnum], value: object) -> tuple[Any, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    try:
        return tuple(kind(v) for v in items)  # type: ignore[attr-defined]
    except ValueError as exc:
        choices = ", ".join(m.value for m in kind)
        raise ValidationError(f"{exc}; choose from {choices}") from None


def _to_categories(value: object) -> tuple[RequestCategory, ...]:
    return _enum_tuple(RequestCategory, value)


def _to_channels(value: object) -> tuple[Channel, ...]:
    return _enum_tuple(Channel, value)


def _to_texts(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    return tuple(str(v) for v in value)  # type: ignore[attr-defined]


def _check_aware(_: object, attribute: attrs.Attribute[Any], value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise ValidationError(f"{attribute.name} must be timezone-aware")


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _ascii_fold(text: str) -> str:
    """Letter case folded as SQL's ``NOCASE`` does (ASCII letters only), so every store
    finds the same addresses."""
    return text.translate(_ASCII_LOWER)


@attrs.frozen(kw_only=True)
class RequestQuery:
    """Which requests the collection view shows. Empty filters mean "all".

    :param since: from this instant (inclusive) on the *date_field* time.
    :param until: before this instant (exclusive).
    :param date_field: the scheduled time (default) or the sent time; with ``SENT`` only
        requests that were sent are shown, and they are ordered by when.
    :param segments: customer segments (any of them).
    :param categories: view categories (any of them).
    :param channels: e-mail, SMS.
    :param campaign_id: one campaign's requests only.
    :param search: e-mail / phone / transaction id (see :func:`parse_search`).
    """

    since: datetime | None = attrs.field(default=None, validator=_check_aware)
    until: datetime | None = attrs.field(default=None, validator=_check_aware)
    date_field: DateField = attrs.field(default=DateField.SCHEDULED, converter=DateField)
    segments: tuple[str, ...] = attrs.field(default=(), converter=_to_texts)
    categories: tuple[RequestCategory, ...] = attrs.field(default=(), converter=_to_categories)
    channels: tuple[Channel, ...] = attrs.field(default=(), converter=_to_channels)
    campaign_id: str | None = None
    search: Search | None = None

    def __attrs_post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValidationError(
                f"the date range is empty: since {self.since.isoformat()} is not before "
                f"until {self.until.isoformat()}"
            )

    @classmethod
    def default(cls, now: datetime) -> RequestQuery:
        """The view as it first opens: pending requests scheduled in the last 7 days."""
        return cls(since=now - timedelta(days=7), categories=(RequestCategory.PENDING,))

    def matches(self, request: Request) -> bool:
        """Whether *request* is in the result (the in-memory store's filter, and the
        reference the SQL is tested against)."""
        at = self.time_of(request)
        if at is None:
            return False
        if self.since is not None and at < self.since:
            return False
        if self.until is not None and at >= self.until:
            return False
        r = request.recipient
        if self.segments and r.segment not in self.segments:
            return False
        if self.categories and request.category not in self.categories:
            return False
        if self.channels and request.channel not in self.channels:
            return False
        if self.campaign_id is not None and request.campaign_id != self.campaign_id:
            return False
        if self.search is not None:
            s = self.search
            hit = (
                (s.email is not None and _ascii_fold(r.email or "") == _ascii_fold(s.email))
                or (s.phone is not None and r.phone == s.phone)
                or (s.transaction_id is not None and r.transaction_id == s.transaction_id)
            )
            if not hit:
                return False
        return True

    def time_of(self, request: Request) -> datetime | None:
        """The time this query filters and orders *request* by."""
        if self.date_field is DateField.SENT:
            return request.sent_at
        return request.scheduled_at


@attrs.frozen
class RequestPage:
    """One page of the view: the requests, newest first, and where the next page starts
    (``None`` on the last page)."""

    items: tuple[Request, ...]
    next_cursor: str | None


def check_page_size(size: int) -> int:
    """Return *size* if the view offers it.

    :raises ValidationError: otherwise.
    """
    if size not in PAGE_SIZES:
        raise ValidationError(f"page size {size} is not offered; choose 25, 50 or 100")
    return size


# -- export -----------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "transaction_id",
    "email",
    "phone",
    "channel",
    "status",
    "category",
    "opened",
    "answered",
    "scheduled_at",
    "sent_at",
    "publication_consent",
    "other_consents",
    "segment",
    "campaign_id",
    "campaign",
    "request_id",
    "reason",
    "delivered",
    "bounced",
    "complained",
)
"""The columns of a view row, in export order."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize_cell(value: str) -> str:
    """Return *value* safe to open in a spreadsheet: a cell that would run as a formula
    (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading
    apostrophe, as OWASP recommends, so it is shown as text."""
    if value.startswith(_FORMULA_START):
        return "'" + value
    return value


def restore_cell(value: str) -> str:
    """Undo :func:`neutralize_cell`: a cell that is an apostrophe followed by what would
    start a formula is read without the apostrophe (so an export or an errors file can be
    imported again)."""
    if value.startswith("'") and value[1:].startswith(_FORMULA_START):
        return value[1:]
    return value


def _time(value: datetime | None, zone: tzinfo | None) -> str:
    if value is None:
        return ""
    return (value if zone is None else value.astimezone(zone)).isoformat()


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def export_row(
    request: Request, zone: tzinfo | None = None, *, campaign: str = ""
) -> Mapping[str, str]:
    """One view row as text, in :data:`EXPORT_COLUMNS` (not yet neutralised); times in ISO
    8601 with their offset, in *zone* (UTC when not given).

    :param campaign: the request's campaign's name, for the ``campaign`` column.
    """
    r = request.recipient
    publication = r.consents.get(PUBLICATION)
    others = "; ".join(
        f"{name}={'yes' if c.granted else 'no'}"
        for name, c in sorted(r.consents.items())
        if name != PUBLICATION
    )
    return {
        "transaction_id": r.transaction_id or "",
        "email": r.email or "",
        "phone": r.phone or "",
        "channel": request.channel.value,
        "status": request.status.value,
        "category": request.category.value,
        "opened": _time(request.opened_at, zone),
        "answered": _time(request.answered_at, zone),
        "scheduled_at": _time(request.scheduled_at, zone),
        "sent_at": _time(request.sent_at, zone),
        "publication_consent": _yes_no(None if publication is None else publication.granted),
        "other_consents": others,
        "segment": r.segment or "",
        "campaign_id": request.campaign_id,
        "campaign": campaign,
        "request_id": request.id,
        # Why it is where it is: the server's reply, "no consent: …", "unsubscribed".
        "reason": request.last_error or request.reason or "",
        "delivered": _time(request.delivered_at, zone),
        "bounced": _time(request.bounced_at, zone),
        "complained": _time(request.complained_at, zone),
    }


def neutralized(rows: Iterable[Mapping[str, str]]) -> Iterable[list[str]]:
    """Yield each row's cells in :data:`EXPORT_COLUMNS` order, neutralised."""
    for row in rows:
        yield [neutralize_cell(row[c]) for c in EXPORT_COLUMNS]
