"""Consents over time: given or withdrawn after the requests were made, and their history.

::

    consents = ConsentService(store, clock)
    consents.withdraw(PUBLICATION, email="anna@example.com", source="phone call")
    consents.current(email="anna@example.com")   # {"publication": Consent(granted=False, …)}
    consents.history(email="anna@example.com")   # every change, oldest first

A request carries the consents its recipient came with (from an import, the host's API);
what the customer says later goes to the store's consent log, with its source and time.
Whatever reads consents reads both, the latest word winning: the dispatcher before each send
(a campaign's required consents), the published reviews (the publication consent) and a
contact's data export. Erasing the contact forgets the log's entries about them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime

from reviewkit.domain.campaign import Channel
from reviewkit.domain.consent import Consent, ConsentChange, effective_consents
from reviewkit.domain.instants import as_utc
from reviewkit.domain.request import Request
from reviewkit.ports import Clock, Store
from reviewkit.services.privacy import PrivacyService, contact_addresses

__all__ = ["ConsentService", "consent_history", "consents_now"]

log = logging.getLogger("reviewkit.consent")


class ConsentService:
    """Record consents given or withdrawn, and read what holds and how it came to be.

    :param default_region: how to read phone numbers given without ``+CC``.
    """

    def __init__(self, store: Store, clock: Clock, *, default_region: str | None = "PL") -> None:
        self.store = store
        self.clock = clock
        self.default_region = default_region

    def grant(
        self,
        name: str,
        *,
        email: str | None = None,
        phone: str | None = None,
        source: str | None = None,
        at: datetime | None = None,
    ) -> list[ConsentChange]:
        """The contact with *email* and/or *phone* gives consent *name* (at *at*, now by
        default), as *source* tells; one change per address.

        :raises ValidationError: no address, a malformed one, or a bad consent name.
        """
        return self._record(name, True, email, phone, source, at)

    def withdraw(
        self,
        name: str,
        *,
        email: str | None = None,
        phone: str | None = None,
        source: str | None = None,
        at: datetime | None = None,
    ) -> list[ConsentChange]:
        """The contact withdraws (or refuses) consent *name*: requests waiting for it are not
        sent, and a review waiting on the publication consent goes down.

        :raises ValidationError: as :meth:`grant`.
        """
        return self._record(name, False, email, phone, source, at)

    def _record(
        self,
        name: str,
        granted: bool,
        email: str | None,
        phone: str | None,
        source: str | None,
        at: datetime | None,
    ) -> list[ConsentChange]:
        now = as_utc(self.clock.now())
        when = now if at is None else as_utc(at, "the consent's time")
        changes = [
            ConsentChange(
                channel=channel.value,
                address=address,
                name=name,
                granted=granted,
                at=when,
                source=source,
                recorded_at=now,
            )
            for channel, address in contact_addresses(email, phone, self.default_region)
        ]
        with self.store.transaction():
            for change in changes:
                self.store.add_consent_change(change)
        log.info(
            "consent %s %s for %d address(es)",
            name,
            "granted" if granted else "withdrawn",
            len(changes),
        )
        return changes

    def history(self, *, email: str | None = None, phone: str | None = None) -> list[ConsentChange]:
        """Every consent the contact gave or withdrew, oldest first: those their requests
        came with and those recorded since.

        :raises ValidationError: no address, or a malformed one.
        """
        privacy = PrivacyService(self.store, default_region=self.default_region)
        requests = privacy.requests_of(email=email, phone=phone)
        return consent_history(self.store, requests, email, phone, self.default_region)

    def current(self, *, email: str | None = None, phone: str | None = None) -> dict[str, Consent]:
        """The consents that hold for the contact now, by name.

        :raises ValidationError: no address, or a malformed one.
        """
        return dict(effective_consents({}, self.history(email=email, phone=phone)))


def consent_history(
    store: Store,
    requests: Iterable[Request],
    email: str | None,
    phone: str | None,
    default_region: str | None,
) -> list[ConsentChange]:
    """The consents of the contact with *email* / *phone* over time, oldest first: those
    *requests* (theirs) came with, then the consent log's, each told once."""
    found: dict[tuple[str, str, bool, datetime, str | None], ConsentChange] = {}
    for request in requests:
        for name, consent in request.recipient.consents.items():
            at = consent.at or request.created_at
            if at is None:
                continue  # neither the consent nor the request says when
            change = ConsentChange(
                id=f"{request.id}:{name}",
                channel=request.channel.value,
                address=request.address,
                name=name,
                granted=consent.granted,
                at=at,
                source=consent.source,
                recorded_at=request.created_at or at,
            )
            found.setdefault(_told(change), change)
    for channel, address in contact_addresses(email, phone, default_region):
        for change in store.consent_changes(channel, address):
            found.setdefault(_told(change), change)
    return sorted(found.values(), key=lambda c: (c.at, c.recorded_at))


def _told(change: ConsentChange) -> tuple[str, str, bool, datetime, str | None]:
    return (change.channel, change.name, change.granted, change.at, change.source)


def consents_now(store: Store, request: Request) -> Mapping[str, Consent]:
    """The consents that hold for *request*'s recipient: those it came with, with the
    consent log's later changes for its address over them."""
    changes = store.consent_changes(Channel(request.channel), request.address)
    if not changes:
        return request.recipient.consents
    return effective_consents(request.recipient.consents, changes)
