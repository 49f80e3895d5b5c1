"""The collection view: requests filtered, paged and exported.

::

    view = CollectionService(store, clock)
    page = view.page(actor)                                  # pending, last 7 days
    query = RequestQuery(categories=["sent"], search=parse_search("+48 500 100 200"))
    page = view.page(actor, query, page_size=25)
    more = view.page(actor, query, page_size=25, cursor=page.next_cursor)
    view.export(actor, query, "requests.csv")                # constant memory
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator
from datetime import tzinfo
from pathlib import Path
from typing import IO, Protocol

from reviewkit.domain.collection import (
    EXPORT_COLUMNS,
    RequestPage,
    RequestQuery,
    check_page_size,
    export_row,
    neutralized,
)
from reviewkit.domain.instants import as_utc
from reviewkit.domain.permissions import Actor, Permission
from reviewkit.domain.request import Request
from reviewkit.errors import NotFoundError, ValidationError
from reviewkit.ports import CampaignRepository, Clock, RequestRepository

__all__ = ["CollectionService", "CollectionStore"]

_EXPORT_BATCH = 500


class CollectionStore(RequestRepository, CampaignRepository, Protocol):
    """The store roles the collection view uses: requests, and campaigns for their names."""


class CollectionService:
    """Read the requests of every campaign as the collection view shows them."""

    def __init__(self, store: CollectionStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def default_query(self) -> RequestQuery:
        """Pending requests scheduled in the last 7 days, the view's first screen."""
        return RequestQuery.default(as_utc(self.clock.now()))

    def page(
        self,
        actor: Actor,
        query: RequestQuery | None = None,
        *,
        page_size: int = 50,
        cursor: str | None = None,
    ) -> RequestPage:
        """Return one page (25, 50 or 100 requests) of *query* (the default view when
        ``None``), newest first, after *cursor* (a previous page's ``next_cursor``).

        :raises PermissionDeniedError: without ``campaign.view``.
        :raises ValidationError: another page size, or a cursor this store did not return.
        """
        actor.require(Permission.VIEW_CAMPAIGN, "view requests")
        return self.store.query_requests(
            query or self.default_query(), limit=check_page_size(page_size), after=cursor
        )

    def page_number(
        self, actor: Actor, query: RequestQuery | None, number: int, *, page_size: int = 50
    ) -> RequestPage:
        """Return page *number* (from 1), walking the pages before it by their cursors.

        :raises ValidationError: *number* is below 1.
        """
        if number < 1:
            raise ValidationError(f"page {number} does not exist; pages start at 1")
        cursor = None
        page = self.page(actor, query, page_size=page_size)
        for _ in range(number - 1):
            cursor = page.next_cursor
            if cursor is None:
                return RequestPage((), None)
            page = self.page(actor, query, page_size=page_size, cursor=cursor)
        return page

    def iter_requests(self, actor: Actor, query: RequestQuery | None = None) -> Iterator[Request]:
        """Yield every request of *query*, newest first, a batch at a time."""
        actor.require(Permission.VIEW_CAMPAIGN, "view requests")
        query = query or self.default_query()
        cursor = None
        while True:
            page = self.store.query_requests(query, limit=_EXPORT_BATCH, after=cursor)
            yield from page.items
            cursor = page.next_cursor
            if cursor is None:
                return

    def export(
        self,
        actor: Actor,
        query: RequestQuery | None,
        output: str | os.PathLike[str] | IO[str],
        *,
        zone: tzinfo | None = None,
    ) -> int:
        """Write every request of *query* to a CSV file (UTF-8 with a BOM, so spreadsheet
        programs read the Polish letters) with :data:`EXPORT_COLUMNS`, streaming in
        constant memory. Cells a spreadsheet would run as a formula are neutralised. Times
        are ISO 8601 with their offset, in *zone* (UTC when not given).

        :returns: how many requests were written.
        """
        if isinstance(output, (str, os.PathLike)):
            with Path(output).open("w", encoding="utf-8-sig", newline="") as file:
                return self._write(actor, query, file, zone)
        return self._write(actor, query, output, zone)

    def _write(
        self, actor: Actor, query: RequestQuery | None, file: IO[str], zone: tzinfo | None
    ) -> int:
        writer = csv.writer(file)
        writer.writerow(EXPORT_COLUMNS)
        count = 0
        names = self.campaign_names()
        rows = (
            export_row(d, zone, campaign=names(d.campaign_id))
            for d in self.iter_requests(actor, query)
        )
        for cells in neutralized(rows):
            writer.writerow(cells)
            count += 1
        return count

    def campaign_names(self) -> Callable[[str], str]:
        """A look-up of campaign names by id, each read once (for the ``campaign`` column of
        :func:`~reviewkit.domain.collection.export_row`); a deleted campaign's is empty."""
        found: dict[str, str] = {}

        def name(campaign_id: str) -> str:
            if campaign_id not in found:
                try:
                    found[campaign_id] = self.store.get_campaign(campaign_id).name
                except NotFoundError:
                    found[campaign_id] = ""
            return found[campaign_id]

        return name
