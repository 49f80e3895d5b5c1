"""A contact's data on request: everything reviewkit holds about one customer, and erasing it.

::

    privacy = PrivacyService(store)
    data = privacy.export(email="anna@example.com", phone="+48500100200")
    Path("anna.json").write_text(json.dumps(data, ensure_ascii=False, indent=2))

The export holds, for every request made to the contact's addresses (any campaign, any
time): the request with its status, times and engagement (opened, clicked, answered,
delivered, bounced, complained), the recipient as stored (name, transaction, segment, fields,
consents), every answer with its history, the outcome classifications and the tasks opened
about it; the suppressions of the addresses; and the history of the contact's consents
(those their requests came with and those given or withdrawn since, oldest first). Times
are ISO 8601 in UTC.

:meth:`PrivacyService.erase` removes the contact's personal data everywhere while scores and
reports keep their counts; a suppressed address stays suppressed under a keyed hash only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import attrs

from reviewkit.domain.campaign import Channel
from reviewkit.domain.collection import RequestQuery, Search
from reviewkit.domain.contacts import normalize_email
from reviewkit.domain.request import Request
from reviewkit.domain.sms import normalize_phone
from reviewkit.domain.suppression import erased_address
from reviewkit.domain.tokens import LinkSigner
from reviewkit.errors import ConfigurationError, ValidationError
from reviewkit.ports import Store
from reviewkit.serialization import unstructure

__all__ = ["EXPORT_VERSION", "Erasure", "PrivacyService", "contact_addresses"]

log = logging.getLogger("reviewkit.privacy")

EXPORT_VERSION = 2
"""The shape of :meth:`PrivacyService.export`'s result; raised when it changes."""


@attrs.frozen
class Erasure:
    """What :meth:`PrivacyService.erase` did.

    :ivar requests: requests whose personal data went.
    :ivar suppressions: suppressions kept under a keyed hash (the address is still never
        sent to).
    """

    requests: int
    suppressions: int


class PrivacyService:
    """Answer a data-protection request about one contact.

    :param links: the link keys; their current key makes the keyed hash an erased
        suppression is kept under (the dispatcher recognises it with the same keys).
    :param default_region: how to read phone numbers given without ``+CC``.
    """

    def __init__(
        self,
        store: Store,
        *,
        links: LinkSigner | None = None,
        default_region: str | None = "PL",
    ) -> None:
        self.store = store
        self.links = links
        self.default_region = default_region

    def erase(self, *, email: str | None = None, phone: str | None = None) -> Erasure:
        """Erase the contact with *email* and/or *phone*: every request made to them loses
        its recipient's details, address and error text; answers lose their comments;
        classifications, tasks, alerts and notifications what they quoted; suppressions of
        the addresses are kept under a keyed hash. Scores and reports keep their counts.

        :raises ConfigurationError: the service has no link keys (the hash needs a key).
        :raises ValidationError: neither given, or a malformed address.
        """
        if self.links is None:
            raise ConfigurationError("erasing a contact needs the link keys (for the hash)")
        search = _search(email, phone, self.default_region)
        requests = list(self.requests_of(email=email, phone=phone))
        wanted = {(Channel.EMAIL, search.email), (Channel.SMS, search.phone)}
        wanted |= {(r.channel, r.address) for r in requests}
        secret = self.links.signing_secret()
        addresses = {
            (channel, address.casefold()): erased_address(secret, channel, address)
            for channel, address in wanted
            if address is not None
        }
        kept = sum(1 for c, a in addresses if self.store.get_suppression(c, a) is not None)
        erased_count = self.store.erase_contact([r.id for r in requests], addresses)
        log.info("erased a contact: %d requests, %d suppressions kept hashed", erased_count, kept)
        return Erasure(erased_count, kept)

    def requests_of(
        self, *, email: str | None = None, phone: str | None = None
    ) -> Iterator[Request]:
        """Every request made to *email* or *phone* (either letter case of an e-mail
        address), newest first.

        :raises ValidationError: neither given, or a malformed address.
        """
        search = _search(email, phone, self.default_region)
        after = None
        while True:
            page = self.store.query_requests(RequestQuery(search=search), limit=100, after=after)
            # The view's search also finds addresses that differ in accents (for operators);
            # a contact's data is only what is exactly theirs.
            yield from (r for r in page.items if _theirs(r, search))
            if page.next_cursor is None:
                return
            after = page.next_cursor

    def export(self, *, email: str | None = None, phone: str | None = None) -> dict[str, Any]:
        """Everything held about the contact with *email* and/or *phone*, as JSON-ready data.

        :raises ValidationError: neither given, or a malformed address.
        """
        from reviewkit.services.consent import consent_history  # it imports this module

        search = _search(email, phone, self.default_region)
        theirs = list(self.requests_of(email=email, phone=phone))
        requests = []
        for request in theirs:
            data = unstructure(request)
            data["answers"] = [unstructure(a) for a in self.store.answers_for(request.id)]
            data["classifications"] = [
                unstructure(c) for c in self.store.classifications(request_id=request.id)
            ]
            requests.append(data)
        ids = {r["id"] for r in requests}
        tasks = [unstructure(t) for t in self.store.list_tasks() if t.request_id in ids]
        suppressions = []
        for channel, address in ((Channel.EMAIL, search.email), (Channel.SMS, search.phone)):
            if address is not None:
                found = self.store.get_suppression(channel, address)
                if found is not None:
                    suppressions.append(unstructure(found))
        return {
            "version": EXPORT_VERSION,
            "contact": {"email": search.email, "phone": search.phone},
            "requests": requests,
            "tasks": tasks,
            "suppressions": suppressions,
            "consents": [
                unstructure(c)
                for c in consent_history(self.store, theirs, email, phone, self.default_region)
            ],
        }


def _theirs(request: Request, search: Search) -> bool:
    r = request.recipient
    same_email = search.email is not None and (r.email or "").casefold() == search.email.casefold()
    return same_email or (search.phone is not None and r.phone == search.phone)


def contact_addresses(
    email: str | None, phone: str | None, region: str | None
) -> list[tuple[Channel, str]]:
    """The contact's addresses as requests keep them: ``(channel, address)`` for each given.

    :raises ValidationError: neither given, or a malformed address.
    """
    search = _search(email, phone, region)
    found = [(Channel.EMAIL, search.email), (Channel.SMS, search.phone)]
    return [(channel, address) for channel, address in found if address is not None]


def _search(email: str | None, phone: str | None, region: str | None) -> Search:
    if not email and not phone:
        raise ValidationError("name the contact by e-mail address, phone number or both")
    return Search(
        email=normalize_email(email) if email else None,
        phone=normalize_phone(phone, region) if phone else None,
    )
