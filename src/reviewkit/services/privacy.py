"""A contact's data on request: everything reviewkit holds about one customer, in one call.

::

    privacy = PrivacyService(store)
    data = privacy.export(email="anna@example.com", phone="+48500100200")
    Path("anna.json").write_text(json.dumps(data, ensure_ascii=False, indent=2))

The export holds, for every request made to the contact's addresses (any campaign, any
time): the request with its status, times and engagement (opened, clicked, answered,
delivered, bounced, complained), the recipient as stored (name, transaction, segment, fields,
consents), every answer with its history, the outcome classifications and the tasks opened
about it; and the suppressions of the addresses. Times are ISO 8601 in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from reviewkit.domain.campaign import Channel
from reviewkit.domain.collection import RequestQuery, Search
from reviewkit.domain.contacts import normalize_email
from reviewkit.domain.request import Request
from reviewkit.domain.sms import normalize_phone
from reviewkit.errors import ValidationError
from reviewkit.ports import Store
from reviewkit.serialization import unstructure

__all__ = ["EXPORT_VERSION", "PrivacyService"]

EXPORT_VERSION = 1
"""The shape of :meth:`PrivacyService.export`'s result; raised when it changes."""


class PrivacyService:
    """Answer a data-protection request about one contact.

    :param default_region: how to read phone numbers given without ``+CC``.
    """

    def __init__(self, store: Store, *, default_region: str | None = "PL") -> None:
        self.store = store
        self.default_region = default_region

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
        search = _search(email, phone, self.default_region)
        requests = []
        for request in self.requests_of(email=email, phone=phone):
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
        }


def _theirs(request: Request, search: Search) -> bool:
    r = request.recipient
    same_email = search.email is not None and (r.email or "").casefold() == search.email.casefold()
    return same_email or (search.phone is not None and r.phone == search.phone)


def _search(email: str | None, phone: str | None, region: str | None) -> Search:
    if not email and not phone:
        raise ValidationError("name the contact by e-mail address, phone number or both")
    return Search(
        email=normalize_email(email) if email else None,
        phone=normalize_phone(phone, region) if phone else None,
    )
