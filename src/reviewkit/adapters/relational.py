"""What the SQL stores share: every :class:`~reviewkit.ports.Store` method written once over
a database connection, and the rows they read and write.

An adapter for one database subclasses :class:`RelationalStore` and gives it the statements of
its own ``queries.sql`` (the same names; ``?`` and ``:name`` parameters), a connection for each
call (:meth:`~RelationalStore.transaction` and :meth:`~RelationalStore._reading`), and the
exceptions its driver raises for a broken constraint. Instants are stored as UTC epoch
microseconds (64-bit integers) in every database, so the arithmetic of the score rollups and
the cursors of the collection view are the same everywhere.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any, ClassVar, Self

import attrs

from reviewkit.domain.alerts import Alert, AlertRule, AlertState, scrubbed
from reviewkit.domain.answers import Answer
from reviewkit.domain.campaign import Campaign, CampaignStatus, Channel
from reviewkit.domain.classifiers import Classification
from reviewkit.domain.collection import DateField, RequestPage, RequestQuery
from reviewkit.domain.consent import Consent, ConsentChange, consents_from_json, consents_to_json
from reviewkit.domain.notifications import (
    Notification,
    NotificationGroup,
    NotificationStatus,
    Silence,
)
from reviewkit.domain.publication import Moderation
from reviewkit.domain.renamed import DeprecatedStoreNames
from reviewkit.domain.reports import (
    Funnel,
    ReportDefinition,
    ReportRun,
    ReportRunStatus,
    finished_run,
)
from reviewkit.domain.request import (
    ERASED_TASK_TITLE,
    Engagement,
    Outcome,
    Recipient,
    Request,
    RequestStatus,
)
from reviewkit.domain.scoring import THRESHOLDS, AnswerStats, check_dimension, rollup_pieces
from reviewkit.domain.secret import redacted
from reviewkit.domain.suppression import Suppression, SuppressionReason
from reviewkit.domain.survey import SurveyType
from reviewkit.domain.tasks import Task, TaskStatus
from reviewkit.domain.triggers import TriggerRule
from reviewkit.domain.window import epoch_micros
from reviewkit.errors import (
    ConflictError,
    NotFoundError,
    StaleVersionError,
    StorageError,
    ValidationError,
)
from reviewkit.serialization import rule_from_data, rule_to_data, structure, unstructure

__all__ = ["Queries", "RelationalStore", "load_migrations", "load_queries", "redacted"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

DELIVERY_COLUMNS = (
    "id, campaign_id, channel, address, request_key, status, available_at, due_at, attempts, "
    "last_error, sent_at, claimed_by, lease_until, email, phone, name, transaction_id, "
    "timezone, fields, sender, created_at, scheduled_at, segment, consents, reason, "
    "remind_at, reminders_sent, opened_at, clicked_at, answered_at, unsubscribed_at, chat_id, "
    "delivered_at, bounced_at, complained_at"
)
ANSWER_COLUMNS = (
    "id, delivery_id, campaign_id, kind, score, comment, at, channel, segment, current, "
    "hook_done, hook_attempts, hook_error, hook_next_at"
)
_FILLED_ON_LOAD = {
    "{delivery_columns}": DELIVERY_COLUMNS,
    "{delivery_marks}": ", ".join("?" * (DELIVERY_COLUMNS.count(",") + 1)),
    "{delivery_columns_d}": ", ".join(f"d.{c.strip()}" for c in DELIVERY_COLUMNS.split(",")),
    "{answer_columns}": ANSWER_COLUMNS,
    "{answer_columns_a}": ", ".join(f"a.{c.strip()}" for c in ANSWER_COLUMNS.split(",")),
    "{answer_marks}": ", ".join("?" * (ANSWER_COLUMNS.count(",") + 1)),
}
_BLOCK = re.compile(r"^-- name: (\w+)\n((?:--[^\n]*\n)*)(.*?)(?=^-- name: |\Z)", re.M | re.S)


@attrs.frozen
class Queries:
    """The statements of one ``queries.sql``: ``queries.NAME`` is the block ``-- name: name``."""

    statements: Mapping[str, str]
    """Statement of every block, by name."""
    descriptions: Mapping[str, str]
    """Description of every block, by name."""

    def __getattr__(self, name: str) -> str:
        try:
            return self.statements[name.lower()]
        except KeyError:
            raise AttributeError(f"queries.sql has no block named {name.lower()!r}") from None


def load_migrations(package: str) -> list[tuple[int, str]]:
    """The numbered scripts of the ``migrations`` folder in *package*, in order:
    ``(number, text)`` for each ``NNNN_name.sql``."""
    folder = resources.files(package) / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def load_queries(package: str) -> Queries:
    """The named blocks of the ``queries.sql`` file in *package*.

    ``{delivery_columns}`` (``{delivery_columns_d}``: each prefixed with ``d.``),
    ``{delivery_marks}``, ``{answer_columns}``, ``{answer_columns_a}`` and ``{answer_marks}``
    are filled in; other names in braces are left for the store.
    """
    text = (resources.files(package) / "queries.sql").read_text("utf-8")
    statements: dict[str, str] = {}
    descriptions: dict[str, str] = {}
    for name, comment, sql in _BLOCK.findall(text):
        if name in statements:
            raise RuntimeError(f"queries.sql of {package} names {name!r} twice")
        for placeholder, value in _FILLED_ON_LOAD.items():
            sql = sql.replace(placeholder, value)
        statements[name] = sql.strip().rstrip(";")
        descriptions[name] = " ".join(line[2:].strip() for line in comment.splitlines())
    return Queries(statements, descriptions)


@lru_cache(maxsize=1024)
def _to_us(value: datetime | None) -> int | None:
    # Cached: rows written together mostly share a few instants (an import's creation and
    # due times, a batch's send time), and a look-up costs less than the arithmetic.
    return None if value is None else epoch_micros(value)


def _from_us(value: int | None) -> datetime | None:
    if value is None:
        return None
    return _EPOCH + timedelta(microseconds=value)


class RelationalStore(DeprecatedStoreNames, ABC):
    """Every :class:`~reviewkit.ports.Store` method over a SQL database; see the module."""

    _q: Queries
    _integrity: ClassVar[type[Exception] | tuple[type[Exception], ...]]
    """The driver's exception(s) for a broken unique or foreign key."""
    _email_match: ClassVar[str] = "email = :email"
    """How the collection view's search compares an e-mail address, ignoring letter case."""
    _field_group: ClassVar[str]
    """The expression of a request's custom field (:field_path) to group answers by."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """Run the block's calls in one transaction (joined by nested ones)."""

    @abstractmethod
    def close(self) -> None:
        """Let go of the database (its connections)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def _reading(self) -> AbstractContextManager[None]:
        """A connection for the block's reads, and for writes of one statement, which are
        atomic on their own (the transaction's connection, inside one)."""

    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
        """Run one statement on the current connection; the driver's cursor."""

    @abstractmethod
    def _insert_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """Run one statement for each row; how many rows it changed."""

    @abstractmethod
    def _plan(self, sql: str, params: Mapping[str, Any]) -> list[str]:
        """The database's plan for *sql*, a line a step."""

    def explain_query(self, query: RequestQuery, *, limit: int = 50) -> list[str]:
        """Return the database's plan for a view query, to check that it reads an index;
        one plan after another when the query is split."""
        lines = []
        for part in _split(query):
            time, where, params = _query_where(part, None, self._email_match)
            params["limit"] = limit + 1
            with self._reading():
                lines += self._plan(self._q.QUERY_REQUESTS.format(time=time, where=where), params)
        return lines

    def _field_param(self, name: str) -> str:
        """The :field_path parameter for the custom field *name*."""
        return '$."' + name.replace('"', '\\"') + '"'

    def _group_match(self, column: str | None, group: str | None) -> str:
        """The condition that *column* is in *group* (``:group``; ``None``: no group)."""
        del group  # IS compares NULL with NULL, and SQLite reads an index for it
        return f"{column} IS :group"

    # -- campaigns ------------------------------------------------------------------------

    def add_campaign(self, campaign: Campaign) -> Campaign:
        stored = attrs.evolve(campaign, version=1)
        with self.transaction():
            if self._execute(self._q.GET_CAMPAIGN, (campaign.id,)).fetchone():
                raise ConflictError(f"a campaign with id {campaign.id!r} already exists")
            if self._execute(self._q.GET_CAMPAIGN_BY_NAME, (campaign.name,)).fetchone():
                raise ConflictError(f"a campaign named {campaign.name!r} already exists")
            self._execute(
                self._q.INSERT_CAMPAIGN,
                (
                    stored.id,
                    stored.name,
                    stored.status.value,
                    stored.version,
                    _to_us(stored.created_at),
                    _campaign_json(stored),
                ),
            )
        return stored

    def get_campaign(self, key: str) -> Campaign:
        with self._reading():
            row = self._execute(self._q.GET_CAMPAIGN, (key,)).fetchone()
            if row is None:
                row = self._execute(self._q.GET_CAMPAIGN_BY_NAME, (key,)).fetchone()
        if row is None:
            raise NotFoundError(f"no campaign with id or name {key!r}")
        return _campaign_from_row(row)

    def save_campaign(self, campaign: Campaign) -> Campaign:
        stored = attrs.evolve(campaign, version=campaign.version + 1)
        with self.transaction():
            try:
                cursor = self._execute(
                    self._q.UPDATE_CAMPAIGN,
                    (
                        campaign.name,
                        campaign.status.value,
                        _campaign_json(stored),
                        campaign.id,
                        campaign.version,
                    ),
                )
            except self._integrity as exc:
                raise ConflictError(f"a campaign named {campaign.name!r} already exists") from exc
            if cursor.rowcount == 0:
                row = self._execute(self._q.CAMPAIGN_VERSION, (campaign.id,)).fetchone()
                if row is None:
                    raise NotFoundError(f"no campaign with id {campaign.id!r}")
                raise StaleVersionError(
                    f"campaign {campaign.name!r} was changed meanwhile "
                    f"(version {row[0]}, not {campaign.version}): reload and retry"
                )
        return stored

    def delete_campaign(self, campaign_id: str) -> None:
        with self.transaction():
            if self._execute(self._q.DELETE_CAMPAIGN, (campaign_id,)).rowcount == 0:
                raise NotFoundError(f"no campaign with id {campaign_id!r}")

    def list_campaigns(self, statuses: Collection[CampaignStatus] | None = None) -> list[Campaign]:
        with self._reading():
            if statuses is None:
                rows = self._execute(self._q.LIST_CAMPAIGNS).fetchall()
            else:
                wanted = [CampaignStatus(s).value for s in statuses]
                sql = self._q.LIST_CAMPAIGNS_IN.format(marks=_marks(wanted))
                rows = self._execute(sql, wanted).fetchall() if wanted else []
        return [_campaign_from_row(row) for row in rows]

    # -- requests -----------------------------------------------------------------------

    def add_requests(self, requests: Iterable[Request]) -> int:
        with self.transaction():
            try:
                return self._insert_many(self._q.INSERT_REQUEST, map(_request_row, requests))
            except self._integrity as exc:
                raise NotFoundError(
                    f"a request names a campaign that does not exist: {exc}"
                ) from exc

    def request_row_maker(self) -> Callable[[Request], tuple[object, ...]]:
        return _request_row

    def add_request_rows(self, rows: Sequence[tuple[object, ...]]) -> int:
        with self.transaction():
            try:
                return self._insert_many(self._q.INSERT_REQUEST, rows)
            except self._integrity as exc:
                raise NotFoundError(
                    f"a request names a campaign that does not exist: {exc}"
                ) from exc

    def get_request(self, request_id: str) -> Request:
        with self._reading():
            row = self._execute(self._q.GET_REQUEST, (request_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no request with id {request_id!r}")
        return _request_from_row(row)

    def iter_requests(
        self,
        campaign_id: str,
        statuses: Collection[RequestStatus] | None = None,
    ) -> Iterator[Request]:
        wanted = None if statuses is None else {s.value for s in statuses}
        last = 0
        while True:
            with self._reading():
                rows = self._execute(self._q.ITER_REQUESTS, (campaign_id, last, 1000)).fetchall()
            if not rows:
                return
            for row in rows:
                if wanted is None or row[6] in wanted:
                    yield _request_from_row(row[1:])
            last = rows[-1][0]

    def count_requests(self, campaign_id: str) -> dict[RequestStatus, int]:
        counts = dict.fromkeys(RequestStatus, 0)
        with self._reading():
            for status, count in self._execute(self._q.COUNT_REQUESTS, (campaign_id,)):
                counts[RequestStatus(status)] = count
        return counts

    def set_request_status(
        self,
        campaign_id: str,
        *,
        from_statuses: Collection[RequestStatus],
        to_status: RequestStatus,
        ids: Collection[str] | None = None,
        due_at: datetime | None = None,
        error: str | None = None,
    ) -> int:
        if not from_statuses or (ids is not None and not ids):
            return 0
        pending = to_status is RequestStatus.PENDING
        sql = (self._q.SET_STATUS_PENDING if pending else self._q.SET_STATUS).format(
            marks=_marks(from_statuses)
        )
        due = _to_us(due_at)
        params: list[Any] = [to_status.value, due, error, due if pending else None, campaign_id]
        params += [s.value for s in from_statuses]
        with self.transaction():
            if ids is None:
                return int(self._execute(sql, params).rowcount)
            changed = 0
            id_list = list(ids)
            for start in range(0, len(id_list), 500):
                chunk = id_list[start : start + 500]
                changed += self._execute(
                    f"{sql} AND id IN ({_marks(chunk)})", [*params, *chunk]
                ).rowcount
            return changed

    def claim_requests(
        self,
        campaign_id: str,
        *,
        now: datetime,
        limit: int,
        worker_id: str,
        lease_until: datetime,
    ) -> list[Request]:
        with self.transaction():
            due = self._execute(
                self._q.DUE_FOR_CLAIM, {"campaign": campaign_id, "now": _to_us(now), "limit": limit}
            ).fetchall()
            if not due:
                return []
            rows = self._execute(
                self._q.CLAIM_REQUESTS,
                {
                    "worker": worker_id,
                    "lease": _to_us(lease_until),
                    "seqs": json.dumps([seq for seq, _ in due]),
                },
            ).fetchall()
        order = {request_id: position for position, (_, request_id) in enumerate(due)}
        claimed = [_request_from_row(row) for row in rows]
        claimed.sort(key=lambda d: order[d.id])
        return claimed

    def renew_leases(
        self, request_ids: Collection[str], *, worker_id: str, lease_until: datetime
    ) -> set[str]:
        if not request_ids:
            return set()
        with self.transaction():
            rows = self._execute(
                self._q.RENEW_LEASES,
                {
                    "lease": _to_us(lease_until),
                    "ids": json.dumps(list(request_ids)),
                    "worker": worker_id,
                },
            ).fetchall()
        return {row[0] for row in rows}

    def finish_requests(
        self, outcomes: Iterable[Outcome], *, worker_id: str, now: datetime
    ) -> list[str]:
        outcomes = list(outcomes)
        lost = []
        # One outcome (the dispatcher's default) is one statement, atomic without BEGIN and
        # COMMIT, which are round trips to a server database.
        with self._reading() if len(outcomes) == 1 else self.transaction():
            for outcome in outcomes:
                params = _finish_params(outcome, worker_id, now)
                if self._execute(self._q.FINISH_REQUEST, params).rowcount == 0:
                    lost.append(outcome.request_id)
        return lost

    def record_engagement(self, request_id: str, what: Engagement, at: datetime) -> Request:
        column = _ENGAGEMENT_COLUMNS[Engagement(what)]
        opened = (
            ", opened_at = coalesce(opened_at, :at)"
            if what in (Engagement.CLICKED, Engagement.ANSWERED)
            else ""
        )
        sql = self._q.RECORD_ENGAGEMENT.format(column=column, opened=opened)
        stop = what in (Engagement.ANSWERED, Engagement.UNSUBSCRIBED)
        with self.transaction():
            row = self._execute(sql, {"at": _to_us(at), "stop": stop, "id": request_id}).fetchone()
        if row is None:
            raise NotFoundError(f"no request with id {request_id!r}")
        return _request_from_row(row)

    def request_funnel(self, *, since: datetime, until: datetime) -> dict[str | None, Funnel]:
        with self._reading():
            rows = self._execute(self._q.REQUEST_FUNNEL, (_to_us(since), _to_us(until))).fetchall()
        return {segment: Funnel(sent, opened, answered) for segment, sent, opened, answered in rows}

    def query_requests(
        self, query: RequestQuery, *, limit: int, after: str | None = None
    ) -> RequestPage:
        parts = _split(query)
        rows = []
        with self._reading():
            # Several categories or segments would make SQLite sort the whole match: one
            # index walk per (category, segment) pair, merged, reads only a page from each.
            for part in parts:
                time, where, params = _query_where(part, after, self._email_match)
                params["limit"] = limit + 1
                sql = self._q.QUERY_REQUESTS.format(time=time, where=where)
                rows += self._execute(sql, params).fetchall()
        if len(parts) > 1:
            rows.sort(key=lambda row: (row[1], row[0]), reverse=True)
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = f"{rows[-1][1]}.{rows[-1][0]}" if more else None
        return RequestPage(tuple(_request_from_row(row[2:]) for row in rows), cursor)

    # -- answers --------------------------------------------------------------------------

    def add_answer(self, answer: Answer) -> Answer:
        with self.transaction():
            try:
                self._execute(self._q.RETIRE_ANSWERS, (answer.request_id,))
                self._execute(
                    self._q.INSERT_ANSWER, _answer_row(attrs.evolve(answer, current=True))
                )
            except self._integrity as exc:
                raise NotFoundError(f"no request with id {answer.request_id!r}: {exc}") from exc
        return attrs.evolve(answer, current=True)

    def get_answer(self, answer_id: str) -> Answer:
        with self._reading():
            row = self._execute(self._q.GET_ANSWER, (answer_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no answer with id {answer_id!r}")
        return _answer_from_row(row)

    def answers_for(self, request_id: str) -> list[Answer]:
        with self._reading():
            rows = self._execute(self._q.ANSWERS_FOR, (request_id,)).fetchall()
        return [_answer_from_row(row) for row in rows]

    def answer_stats(
        self,
        kind: SurveyType,
        *,
        by: str | None = None,
        periods: Sequence[tuple[datetime, datetime]] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        campaign_id: str | None = None,
        segments: Collection[str] = (),
        channels: Collection[Channel] = (),
    ) -> dict[tuple[str | None, int | None], AnswerStats]:
        top, bottom = THRESHOLDS[SurveyType(kind)]
        group, join = _answer_group(by, self._field_group)
        params: dict[str, Any] = {"kind": SurveyType(kind).value, "top": top, "bottom": bottom}
        if by is not None and by.startswith("field:"):
            params["field_path"] = self._field_param(by[6:])
        filters = rollup_filters = ""
        if campaign_id is not None:
            filters = rollup_filters = " AND a.campaign_id = :campaign"
            params["campaign"] = campaign_id
        if channels:
            names = [f":ch{i}" for i in range(len(channels))]
            params.update({n[1:]: Channel(c).value for n, c in zip(names, channels, strict=True)})
            filters += f" AND a.channel IN ({', '.join(names)})"
            rollup_filters += f" AND a.channel IN ({', '.join(names)})"
        if segments:
            names = [f":seg{i}" for i in range(len(segments))]
            for name, segment in zip(names, segments, strict=True):
                params[name[1:]], params["k" + name[1:]] = segment, "=" + segment
            filters += f" AND a.segment IN ({', '.join(names)})"
            keys = ", ".join(":k" + n[1:] for n in names)
            rollup_filters += f" AND a.segment_key IN ({keys})"
        # Each range (a period, or the whole span) cut into whole UTC days and hours, read
        # from the rollups, and the answers at its ragged edges; a custom field's groups
        # are not rolled up, so those read every answer in range.
        low = _UNBOUNDED_LOW if since is None else epoch_micros(since)
        high = _UNBOUNDED_HIGH if until is None else epoch_micros(until)
        # Per span (None: the answers), the ranges to read: [start, end) and, beside, the
        # period each belongs to and whether it is added or taken away.
        spans: dict[int | None, list[tuple[int, int, int, int]]] = {
            span: [] for span in (None, *_ROLLUP_SPANS)
        }
        whole = (
            [(-1, low, high)]
            if periods is None
            else [
                (index, max(low, epoch_micros(start)), min(high, epoch_micros(end)))
                for index, (start, end) in enumerate(periods)
            ]
        )
        for index, start, end in whole:
            if join:  # custom fields are not rolled up
                pieces = rollup_pieces(start, end, ())
            else:
                pieces = rollup_pieces(start, end, _ROLLUP_SPANS)
            for span, piece_start, piece_end, sign in pieces:
                spans[span].append((piece_start, piece_end, index, sign))
        sums: dict[tuple[str | None, int | None], list[int]] = {}
        with self._reading():
            for span, ranges in spans.items():
                if not ranges:
                    continue
                params["ranges"] = json.dumps([[lo, hi] for lo, hi, _, _ in ranges])
                if span is None:
                    sql = self._q.EDGE_SUMS.format(
                        group=group or "NULL", join=join, filters=filters
                    )
                else:
                    params["span"] = span
                    sql = self._q.ROLLUP_SUMS.format(
                        group=_ROLLUP_GROUPS[by], filters=rollup_filters
                    )
                for position, key, *values in self._execute(sql, params):
                    _, _, index, sign = ranges[position]
                    if span is not None and by == "segment":
                        key = key[1:] if key else None
                    spot = (None if key is None else str(key), None if index < 0 else index)
                    found = sums.setdefault(spot, [0, 0, 0, 0, 0])
                    for at, value in enumerate(values):
                        found[at] += sign * int(value)
        return {spot: AnswerStats(*found) for spot, found in sums.items() if found[0]}

    def rebuild_rollups(self) -> None:
        """Recompute the score rollups from the answers.

        The rollups are kept up to date as answers are added, replaced and deleted; rebuild
        them after changing the ``answers`` table by hand, or to check them.
        """
        with self.transaction():
            self._execute(self._q.CLEAR_ROLLUPS)
            self._execute(self._q.FILL_ROLLUPS)

    def answer_span(self, kind: SurveyType) -> tuple[datetime, datetime] | None:
        with self._reading():
            first, last = self._execute(
                self._q.ANSWER_SPAN, {"kind": SurveyType(kind).value}
            ).fetchone()
        if first is None:
            return None
        return _EPOCH + timedelta(microseconds=first), _EPOCH + timedelta(microseconds=last)

    def due_answer_hooks(self, now: datetime, limit: int) -> list[Answer]:
        with self._reading():
            rows = self._execute(self._q.DUE_HOOKS, (_to_us(now), limit)).fetchall()
        return [_answer_from_row(row) for row in rows]

    def finish_answer_hook(
        self, answer_id: str, *, done: bool, error: str | None, next_at: datetime | None
    ) -> None:
        with self.transaction():
            self._execute(
                self._q.FINISH_HOOK,
                (int(done), error, _to_us(next_at), 0 if done else 1, answer_id),
            )

    # -- triggers -------------------------------------------------------------------------

    def record_firing(self, rule_id: str, entity_id: str, at: datetime) -> bool:
        with self.transaction():
            cursor = self._execute(self._q.RECORD_FIRING, (rule_id, entity_id, _to_us(at)))
            return bool(cursor.rowcount == 1)

    def add_trigger_rule(self, rule: TriggerRule) -> TriggerRule:
        with self.transaction():
            try:
                self._execute(self._q.INSERT_TRIGGER_RULE, (rule.id, json.dumps(unstructure(rule))))
            except self._integrity as exc:
                raise ConflictError(f"there is already a trigger rule {rule.id!r}") from exc
        return rule

    def trigger_rules(self) -> list[TriggerRule]:
        with self._reading():
            rows = self._execute(self._q.TRIGGER_RULES).fetchall()
        return [structure(json.loads(data), TriggerRule) for (data,) in rows]

    def remove_trigger_rule(self, rule_id: str) -> TriggerRule:
        with self.transaction():
            row = self._execute(self._q.FIND_TRIGGER_RULE, (rule_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no trigger rule {rule_id!r}")
            self._execute(self._q.DELETE_TRIGGER_RULE, (rule_id,))
        return structure(json.loads(row[0]), TriggerRule)

    # -- alerts ---------------------------------------------------------------------------

    def add_alert_rule(self, rule: AlertRule) -> AlertRule:
        with self.transaction():
            try:
                self._execute(
                    self._q.INSERT_ALERT_RULE, (rule.id, rule.name, json.dumps(rule_to_data(rule)))
                )
            except self._integrity as exc:
                raise ConflictError(
                    f"an alert rule named {rule.name!r} (or with its id) exists"
                ) from exc
        return rule

    def alert_rules(self) -> list[AlertRule]:
        with self._reading():
            rows = self._execute(self._q.ALERT_RULES).fetchall()
        return [_rule_of(data) for (data,) in rows]

    def remove_alert_rule(self, key: str) -> AlertRule:
        with self.transaction():
            row = self._execute(self._q.FIND_ALERT_RULE, {"key": key}).fetchone()
            if row is None:
                raise NotFoundError(f"no alert rule {key!r}")
            rule = rule_from_data(json.loads(row[0]))
            self._execute(self._q.DELETE_RULE_ALERTS, (rule.id,))
            self._execute(self._q.DELETE_ALERT_RULE, (rule.id,))
        return rule

    def get_alert(self, fingerprint: str) -> Alert | None:
        with self._reading():
            row = self._execute(self._q.GET_ALERT, (fingerprint,)).fetchone()
        return None if row is None else structure(json.loads(row[0]), Alert)

    def list_alerts(
        self, states: Collection[AlertState] | None = None, rule_id: str | None = None
    ) -> list[Alert]:
        where, params = ["1 = 1"], []
        if states is not None:
            where.append(f"state IN ({', '.join('?' * len(states))})")
            params += [AlertState(s).value for s in states]
        if rule_id is not None:
            where.append("rule_id = ?")
            params.append(rule_id)
        with self._reading():
            rows = self._execute(
                self._q.LIST_ALERTS.format(where=" AND ".join(where)), params
            ).fetchall()
        return [structure(json.loads(data), Alert) for (data,) in rows]

    def save_alert(self, alert: Alert) -> None:
        with self.transaction():
            self._execute(
                self._q.SAVE_ALERT,
                (
                    alert.fingerprint,
                    alert.rule_id,
                    alert.state.value,
                    _to_us(alert.updated_at),
                    json.dumps(unstructure(alert)),
                ),
            )

    def delete_alert(self, fingerprint: str) -> None:
        with self.transaction():
            self._execute(self._q.DELETE_ALERT, (fingerprint,))

    def recent_answers(
        self,
        kind: SurveyType,
        *,
        by: str,
        group: str | None,
        since: datetime | None,
        limit: int,
        campaigns: Collection[str] = (),
        segments: Collection[str] = (),
        channels: Collection[Channel] = (),
    ) -> list[Answer]:
        column, join = _answer_group(by, self._field_group)
        params: dict[str, Any] = {
            "kind": SurveyType(kind).value,
            "group": group,
            "limit": limit,
            "since": _to_us(since) if since is not None else None,
        }
        if by.startswith("field:"):
            params["field_path"] = self._field_param(by[6:])
        where = ["a.at >= :since" if since is not None else "1 = 1"]
        for name, column_name, values in (
            ("campaign", "a.campaign_id", list(campaigns)),
            ("segment", "a.segment", list(segments)),
            ("channel", "a.channel", [Channel(c).value for c in channels]),
        ):
            if values:
                marks = [f":{name}{i}" for i in range(len(values))]
                where.append(f"{column_name} IN ({', '.join(marks)})")
                params.update({m[1:]: v for m, v in zip(marks, values, strict=True)})
        sql = self._q.RECENT_ANSWERS.format(
            group=column,
            group_match=self._group_match(column, group),
            join=join,
            where=" AND ".join(where),
        )
        with self._reading():
            rows = self._execute(sql, params).fetchall()
        return [_answer_from_row(row) for row in rows]

    def iter_answers(
        self,
        *,
        campaign_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[Answer]:
        params: dict[str, Any] = {
            "campaign": campaign_id,
            "since": _UNBOUNDED_LOW if since is None else epoch_micros(since),
            "until": _UNBOUNDED_HIGH if until is None else epoch_micros(until),
            "after": 0,
            "limit": 1000,
        }
        while True:
            with self._reading():
                rows = self._execute(self._q.ITER_ANSWERS, params).fetchall()
            for row in rows:
                yield _answer_from_row(row[1:])
            if len(rows) < 1000:
                return
            params["after"] = rows[-1][0]

    def worst_comments(
        self,
        kind: SurveyType,
        *,
        since: datetime,
        until: datetime,
        limit: int,
        segments: Collection[str] = (),
        channels: Collection[Channel] = (),
    ) -> list[Answer]:
        params: dict[str, Any] = {
            "kind": SurveyType(kind).value,
            "since": _to_us(since),
            "until": _to_us(until),
            "limit": limit,
        }
        filters = ""
        if segments:
            names = [f"seg{i}" for i in range(len(segments))]
            params.update(zip(names, segments, strict=True))
            filters += f" AND segment IN ({', '.join(':' + n for n in names)})"
        if channels:
            names = [f"ch{i}" for i in range(len(channels))]
            params.update(zip(names, (Channel(c).value for c in channels), strict=True))
            filters += f" AND channel IN ({', '.join(':' + n for n in names)})"
        with self._reading():
            rows = self._execute(self._q.WORST_COMMENTS.format(filters=filters), params).fetchall()
        return [_answer_from_row(row) for row in rows]

    def answer_comments(
        self,
        kind: SurveyType,
        *,
        by: str | None,
        since: datetime,
        until: datetime,
        campaign_id: str | None = None,
    ) -> list[tuple[str | None, datetime, str]]:
        group, join = _answer_group(by, self._field_group)
        params: dict[str, Any] = {
            "kind": SurveyType(kind).value,
            "since": _to_us(since),
            "until": _to_us(until),
            "campaign": campaign_id,
        }
        if by is not None and by.startswith("field:"):
            params["field_path"] = self._field_param(by[6:])
        sql = self._q.ANSWER_COMMENTS.format(group=group or "NULL", join=join)
        with self._reading():
            rows = self._execute(sql, params).fetchall()
        return [
            (None if key is None else str(key), _EPOCH + timedelta(microseconds=at), comment)
            for key, at, comment in rows
        ]

    def answers_since(self, since: datetime, *, limit: int) -> list[Answer]:
        with self._reading():
            rows = self._execute(self._q.ANSWERS_SINCE, (_to_us(since), limit)).fetchall()
        return [_answer_from_row(row) for row in rows]

    def add_notifications(self, notifications: Iterable[Notification]) -> None:
        with self.transaction():
            self._insert_many(
                self._q.INSERT_NOTIFICATION,
                (
                    (
                        n.id,
                        n.status.value,
                        _claimable_at(n.status.value, n.due_at, n.lease_until),
                        n.claimed_by,
                        json.dumps(unstructure(n)),
                    )
                    for n in notifications
                ),
            )

    def claim_notifications(
        self, *, now: datetime, limit: int, worker_id: str, lease_until: datetime
    ) -> list[Notification]:
        claimed = []
        with self.transaction():
            rows = self._execute(
                self._q.DUE_NOTIFICATIONS, {"now": _to_us(now), "limit": limit}
            ).fetchall()
            for _, data in rows:
                held = attrs.evolve(
                    structure(json.loads(data), Notification),
                    status=NotificationStatus.CLAIMED,
                    claimed_by=worker_id,
                    lease_until=lease_until,
                )
                self._write_notification(held)
                claimed.append(held)
        return claimed

    def finish_notification(
        self,
        notification_id: str,
        *,
        worker_id: str,
        status: NotificationStatus,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        with self.transaction():
            row = self._execute(self._q.GET_NOTIFICATION, (notification_id,)).fetchone()
            if row is None:
                return False
            n = structure(json.loads(row[0]), Notification)
            if n.status is not NotificationStatus.CLAIMED or n.claimed_by != worker_id:
                return False
            self._write_notification(
                attrs.evolve(
                    n,
                    status=status,
                    attempts=n.attempts + 1,
                    claimed_by=None,
                    lease_until=None,
                    last_error=error,
                    due_at=retry_at or n.due_at,
                )
            )
        return True

    def get_notification_group(self, receiver: str, key: str) -> NotificationGroup | None:
        with self._reading():
            row = self._execute(self._q.GET_NOTIFICATION_GROUP, (receiver, key)).fetchone()
        if row is None:
            return None
        return NotificationGroup(
            receiver=receiver, key=key, due_at=_from_us(row[0]), sent_at=_from_us(row[1])
        )

    def save_notification_group(self, group: NotificationGroup) -> None:
        with self.transaction():
            self._execute(
                self._q.SAVE_NOTIFICATION_GROUP,
                (group.receiver, group.key, _to_us(group.due_at), _to_us(group.sent_at)),
            )

    def list_notifications(
        self, statuses: Collection[NotificationStatus] | None = None
    ) -> list[Notification]:
        where, params = "1 = 1", []
        if statuses is not None:
            where = f"status IN ({_marks(statuses)})"
            params = [NotificationStatus(st).value for st in statuses]
        with self._reading():
            rows = self._execute(self._q.LIST_NOTIFICATIONS.format(where=where), params).fetchall()
        return [structure(json.loads(data), Notification) for (data,) in rows]

    def add_silence(self, silence: Silence) -> None:
        with self.transaction():
            self._execute(
                self._q.SAVE_SILENCE,
                (
                    silence.id,
                    _to_us(silence.starts_at),
                    _to_us(silence.ends_at),
                    json.dumps(unstructure(silence)),
                ),
            )

    def list_silences(self, active_at: datetime | None = None) -> list[Silence]:
        at = _to_us(active_at) if active_at is not None else None
        with self._reading():
            rows = self._execute(self._q.LIST_SILENCES, {"at": at}).fetchall()
        return [structure(json.loads(data), Silence) for (data,) in rows]

    def remove_silence(self, silence_id: str) -> bool:
        with self.transaction():
            return bool(self._execute(self._q.DELETE_SILENCE, (silence_id,)).rowcount == 1)

    def requests_made_before(self, before: datetime, *, limit: int) -> list[str]:
        with self._reading():
            rows = self._execute(self._q.REQUESTS_MADE_BEFORE, (_to_us(before), limit)).fetchall()
        return [request_id for (request_id,) in rows]

    def clear_comments(self, before: datetime, *, limit: int) -> int:
        with self._erasing(), self.transaction():
            return int(self._execute(self._q.CLEAR_COMMENTS, (_to_us(before), limit)).rowcount)

    def clear_engagement(self, before: datetime, *, limit: int) -> int:
        with self.transaction():
            return int(self._execute(self._q.CLEAR_ENGAGEMENT, (_to_us(before), limit)).rowcount)

    def save_moderation(self, moderation: Moderation) -> None:
        with self.transaction():
            try:
                self._execute(
                    self._q.SAVE_MODERATION,
                    (
                        moderation.answer_id,
                        moderation.state.value,
                        moderation.by,
                        _to_us(moderation.at),
                        moderation.reason,
                    ),
                )
            except self._integrity:
                raise NotFoundError(f"no answer with id {moderation.answer_id!r}") from None

    def moderations_of(self, answer_ids: Collection[str]) -> dict[str, Moderation]:
        ids = list(answer_ids)
        if not ids:
            return {}
        with self._reading():
            rows = self._execute(self._q.MODERATIONS_OF.format(marks=_marks(ids)), ids).fetchall()
        return {
            answer_id: Moderation(
                answer_id=answer_id,
                state=state,
                by=by,
                at=_EPOCH + timedelta(microseconds=at),
                reason=reason,
            )
            for answer_id, state, by, at, reason in rows
        }

    def approved_answers(self, *, limit: int) -> list[Answer]:
        with self._reading():
            rows = self._execute(self._q.APPROVED_ANSWERS, (limit,)).fetchall()
        return [_answer_from_row(row) for row in rows]

    def erase_contact(
        self,
        request_ids: Collection[str],
        addresses: Mapping[tuple[Channel, str], str],
    ) -> int:
        ids = set(request_ids)
        with self._erasing(), self.transaction():
            for request_id in ids:
                self._execute(self._q.ERASE_REQUEST, (request_id,))
                self._execute(self._q.ERASE_ANSWERS, (request_id,))
                rows = self._execute(self._q.CLASSIFICATIONS_OF_REQUEST, (request_id,)).fetchall()
                for classification_id, data in rows:
                    kept = attrs.evolve(structure(json.loads(data), Classification), note=None)
                    self._execute(
                        self._q.UPDATE_CLASSIFICATION,
                        (json.dumps(unstructure(kept)), classification_id),
                    )
            for task in self.list_tasks():
                if task.request_id in ids:
                    self.save_task(attrs.evolve(task, title=ERASED_TASK_TITLE, notes=()))
            for alert in self.list_alerts():
                if alert.evidence.request_id in ids:
                    self.save_alert(attrs.evolve(alert, evidence=scrubbed(alert.evidence)))
            for n in self.list_notifications():
                if n.alert.evidence.request_id in ids:
                    alert = attrs.evolve(n.alert, evidence=scrubbed(n.alert.evidence))
                    self._write_notification(attrs.evolve(n, alert=alert))
            for (channel, address), hashed in addresses.items():
                key = address.casefold()
                self._execute(self._q.FORGET_SOFT_BOUNCES, (Channel(channel).value, key))
                self._execute(self._q.FORGET_CONSENT_CHANGES, (Channel(channel).value, key))
                found = self.get_suppression(channel, address)
                if found is not None:
                    self.remove_suppression(channel, address)
                    self.add_suppression(attrs.evolve(found, address=hashed, note=None))
        return len(ids)

    def _erasing(self) -> AbstractContextManager[None]:
        """Around an erasure: what the database needs so erased values leave no trace (a
        no-op unless an adapter overrides it)."""
        return contextlib.nullcontext()

    def add_soft_bounce(self, channel: Channel, address: str, at: datetime) -> int:
        with self.transaction():
            row = self._execute(
                self._q.ADD_SOFT_BOUNCE,
                (Channel(channel).value, address.casefold(), _to_us(at)),
            ).fetchone()
        return int(row[0])

    def add_consent_change(self, change: ConsentChange) -> None:
        with self.transaction():
            self._execute(
                self._q.ADD_CONSENT_CHANGE,
                (
                    change.id,
                    Channel(change.channel).value,
                    change.address.casefold(),
                    _to_us(change.at),
                    json.dumps(unstructure(change)),
                ),
            )

    def consent_changes(self, channel: Channel, address: str) -> list[ConsentChange]:
        with self._reading():
            rows = self._execute(
                self._q.CONSENT_CHANGES, (Channel(channel).value, address.casefold())
            ).fetchall()
        return [structure(json.loads(data), ConsentChange) for (data,) in rows]

    # -- reports ----------------------------------------------------------------------------

    def add_report(self, report: ReportDefinition) -> ReportDefinition:
        with self.transaction():
            if self._execute(self._q.GET_REPORT, (report.id,)).fetchone():
                raise ConflictError(f"a report with id {report.id!r} already exists")
            self._check_report_name(report)
            self._execute(self._q.INSERT_REPORT, (report.id, report.name, _report_json(report)))
        return report

    def _check_report_name(self, report: ReportDefinition) -> None:
        row = self._execute(self._q.GET_REPORT_BY_NAME, (report.name,)).fetchone()
        if row is not None and structure(json.loads(row[0]), ReportDefinition).id != report.id:
            raise ConflictError(f"a report named {report.name!r} already exists")

    def save_report(self, report: ReportDefinition) -> ReportDefinition:
        with self.transaction():
            if not self._execute(self._q.GET_REPORT, (report.id,)).fetchone():
                raise NotFoundError(f"no report with id {report.id!r}")
            self._check_report_name(report)
            self._execute(self._q.UPDATE_REPORT, (report.name, _report_json(report), report.id))
        return report

    def get_report(self, key: str) -> ReportDefinition:
        with self._reading():
            row = self._execute(self._q.GET_REPORT, (key,)).fetchone()
            if row is None:
                row = self._execute(self._q.GET_REPORT_BY_NAME, (key,)).fetchone()
        if row is None:
            raise NotFoundError(f"no report with id or name {key!r}")
        return structure(json.loads(row[0]), ReportDefinition)

    def list_reports(self) -> list[ReportDefinition]:
        with self._reading():
            rows = self._execute(self._q.LIST_REPORTS).fetchall()
        return [structure(json.loads(data), ReportDefinition) for (data,) in rows]

    def remove_report(self, key: str) -> ReportDefinition:
        with self.transaction():
            report = self.get_report(key)
            self._execute(self._q.DELETE_REPORT, (report.id,))
        return report

    def add_report_runs(self, runs: Iterable[ReportRun]) -> int:
        with self.transaction():
            return self._insert_many(
                self._q.INSERT_REPORT_RUN,
                (
                    (
                        run.id,
                        run.report_id,
                        run.key[1],
                        run.period,
                        run.status.value,
                        _claimable_at(run.status.value, run.due_at, run.lease_until),
                        run.claimed_by,
                        json.dumps(unstructure(run)),
                    )
                    for run in runs
                ),
            )

    def claim_report_runs(
        self, *, now: datetime, limit: int, worker_id: str, lease_until: datetime
    ) -> list[ReportRun]:
        claimed = []
        with self.transaction():
            rows = self._execute(
                self._q.DUE_REPORT_RUNS, {"now": _to_us(now), "limit": limit}
            ).fetchall()
            for _, data in rows:
                held = attrs.evolve(
                    structure(json.loads(data), ReportRun),
                    status=ReportRunStatus.CLAIMED,
                    claimed_by=worker_id,
                    lease_until=lease_until,
                )
                self._write_report_run(held)
                claimed.append(held)
        return claimed

    def finish_report_run(
        self,
        run_id: str,
        *,
        worker_id: str,
        status: ReportRunStatus,
        at: datetime,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        with self.transaction():
            row = self._execute(self._q.GET_REPORT_RUN, (run_id,)).fetchone()
            if row is None:
                return False
            run = structure(json.loads(row[0]), ReportRun)
            if run.status is not ReportRunStatus.CLAIMED or run.claimed_by != worker_id:
                return False
            self._write_report_run(finished_run(run, status, at, error, retry_at))
        return True

    def list_report_runs(
        self,
        report_id: str | None = None,
        statuses: Collection[ReportRunStatus] | None = None,
    ) -> list[ReportRun]:
        where, params = ["1 = 1"], []
        if report_id is not None:
            where.append("report_id = ?")
            params.append(report_id)
        if statuses is not None:
            where.append(f"status IN ({_marks(statuses)})")
            params += [ReportRunStatus(st).value for st in statuses]
        sql = self._q.LIST_REPORT_RUNS.format(where=" AND ".join(where))
        with self._reading():
            rows = self._execute(sql, params).fetchall()
        found = [structure(json.loads(data), ReportRun) for (data,) in rows]
        return sorted(found, key=lambda r: r.due_at)

    def _write_report_run(self, run: ReportRun) -> None:
        self._execute(
            self._q.UPDATE_REPORT_RUN,
            (
                run.status.value,
                _claimable_at(run.status.value, run.due_at, run.lease_until),
                run.claimed_by,
                json.dumps(unstructure(run)),
                run.id,
            ),
        )

    # -- classifications ------------------------------------------------------------------

    def add_classification(self, classification: Classification) -> None:
        with self.transaction():
            try:
                self._execute(
                    self._q.INSERT_CLASSIFICATION,
                    (
                        classification.id,
                        classification.request_id,
                        classification.campaign_id,
                        _to_us(classification.at),
                        json.dumps(unstructure(classification)),
                    ),
                )
            except self._integrity as exc:
                raise NotFoundError(
                    f"no request with id {classification.request_id!r}: {exc}"
                ) from exc

    def classifications(
        self, *, request_id: str | None = None, campaign_id: str | None = None
    ) -> list[Classification]:
        with self._reading():
            rows = self._execute(
                self._q.CLASSIFICATIONS, {"request": request_id, "campaign": campaign_id}
            ).fetchall()
        return [structure(json.loads(data), Classification) for (data,) in rows]

    # -- tasks --------------------------------------------------------------------------

    def add_task(self, task: Task) -> Task:
        stored = attrs.evolve(task, version=1)
        with self.transaction():
            try:
                self._execute(
                    self._q.INSERT_TASK,
                    (
                        stored.id,
                        stored.status.value,
                        stored.assignee,
                        _to_us(stored.deadline) if stored.deadline else None,
                        _to_us(stored.created_at),
                        1,
                        json.dumps(unstructure(stored)),
                    ),
                )
            except self._integrity as exc:
                raise ConflictError(f"a task with id {task.id!r} exists") from exc
        return stored

    def get_task(self, task_id: str) -> Task:
        with self._reading():
            row = self._execute(self._q.GET_TASK, (task_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no task with id {task_id!r}")
        return structure(json.loads(row[0]), Task)

    def save_task(self, task: Task) -> Task:
        stored = attrs.evolve(task, version=task.version + 1)
        with self.transaction():
            cursor = self._execute(
                self._q.UPDATE_TASK,
                {
                    "status": stored.status.value,
                    "assignee": stored.assignee,
                    "deadline": _to_us(stored.deadline) if stored.deadline else None,
                    "version": stored.version,
                    "data": json.dumps(unstructure(stored)),
                    "id": task.id,
                    "expected": task.version,
                },
            )
            if cursor.rowcount == 0:
                current = self.get_task(task.id)  # raises NotFoundError when it is gone
                raise StaleVersionError(
                    f"task {task.title!r} was changed meanwhile (version {current.version}, "
                    f"not {task.version}): read it again"
                )
        return stored

    def list_tasks(
        self, statuses: Collection[TaskStatus] | None = None, assignee: str | None = None
    ) -> list[Task]:
        where, params = ["1 = 1"], []
        if statuses is not None:
            where.append(f"status IN ({', '.join('?' * len(statuses))})")
            params += [TaskStatus(s).value for s in statuses]
        if assignee is not None:
            where.append("assignee = ?")
            params.append(assignee)
        with self._reading():
            rows = self._execute(
                self._q.LIST_TASKS.format(where=" AND ".join(where)), params
            ).fetchall()
        return [structure(json.loads(data), Task) for (data,) in rows]

    def _write_notification(self, n: Notification) -> None:
        self._execute(
            self._q.UPDATE_NOTIFICATION,
            (
                n.status.value,
                _claimable_at(n.status.value, n.due_at, n.lease_until),
                n.claimed_by,
                json.dumps(unstructure(n)),
                n.id,
            ),
        )

    # -- pacing ---------------------------------------------------------------------------

    def reserve_slots(self, gaps: Mapping[str, timedelta], *, now: datetime) -> datetime | None:
        now_us = _to_us(now)
        assert now_us is not None
        with self.transaction():
            busy = []
            # Every key has a row (a first slot opens at once) to lock, taken in one order
            # everywhere, so two workers never wait for each other in a cycle.
            for key in sorted(gaps):
                self._execute(self._q.SLOT_PREPARE, (key,))
            for key in sorted(gaps):
                row = self._execute(self._q.SLOT_NEXT, (key,)).fetchone()
                if row is not None and row[0] > now_us:
                    busy.append(row[0])
            if busy:
                return _from_us(max(busy))
            for key, gap in gaps.items():
                self._execute(self._q.SLOT_SET, (key, _to_us(now + gap)))
        return None

    # -- suppression ----------------------------------------------------------------------

    def add_suppression(self, suppression: Suppression) -> None:
        with self.transaction():
            self._execute(
                self._q.UPSERT_SUPPRESSION,
                (
                    suppression.channel.value,
                    suppression.address.casefold(),
                    suppression.address,
                    suppression.reason.value,
                    _to_us(suppression.at),
                    suppression.note,
                ),
            )

    def get_suppression(self, channel: Channel, address: str) -> Suppression | None:
        with self._reading():
            row = self._execute(
                self._q.GET_SUPPRESSION, (channel.value, address.casefold())
            ).fetchone()
        return None if row is None else _suppression_from_row(row)

    def find_suppression(self, channel: Channel, addresses: Sequence[str]) -> Suppression | None:
        keys = [address.casefold() for address in addresses]
        if not keys:
            return None
        with self._reading():
            rows = self._execute(
                self._q.FIND_SUPPRESSIONS.format(marks=_marks(keys)), [channel.value, *keys]
            ).fetchall()
        found = {row[1].casefold(): _suppression_from_row(row) for row in rows}
        return next((found[k] for k in keys if k in found), None)

    def iter_suppressions(self, channel: Channel | None = None) -> Iterator[Suppression]:
        after = ("", "")
        while True:
            params = {
                "channel": None if channel is None else Channel(channel).value,
                "after_channel": after[0],
                "after_key": after[1],
                "limit": 1000,
            }
            with self._reading():
                rows = self._execute(self._q.LIST_SUPPRESSIONS, params).fetchall()
            for row in rows:
                yield _suppression_from_row(row)
            if len(rows) < 1000:
                return
            after = (rows[-1][0], rows[-1][5])

    def remove_suppression(self, channel: Channel, address: str) -> bool:
        with self.transaction():
            cursor = self._execute(self._q.DELETE_SUPPRESSION, (channel.value, address.casefold()))
            return bool(cursor.rowcount > 0)

    def next_due_at(self, campaign_id: str) -> datetime | None:
        with self._reading():
            (value,) = self._execute(self._q.NEXT_DUE, (campaign_id,)).fetchone()
        return _from_us(value)


def _suppression_from_row(row: Sequence[Any]) -> Suppression:
    at = _from_us(row[3])
    assert at is not None
    return Suppression(
        channel=Channel(row[0]),
        address=row[1],
        reason=SuppressionReason(row[2]),
        at=at,
        note=row[4],
    )


def _finish_params(outcome: Outcome, worker_id: str, now: datetime) -> dict[str, Any]:
    sent = outcome.status is RequestStatus.SENT
    return {
        "status": outcome.status.value,
        "counted": 1 if outcome.count_attempt else 0,
        "error": outcome.error,
        "sent_at": _to_us(now) if sent else None,
        "due_at": _to_us(outcome.due_at),
        "pending": outcome.status is RequestStatus.PENDING,
        "reason": outcome.reason,
        "remind_at": _to_us(outcome.remind_at) if sent else None,
        "reminded": 1 if outcome.reminded else 0,
        "id": outcome.request_id,
        "worker": worker_id,
    }


_ENGAGEMENT_COLUMNS = {
    Engagement.OPENED: "opened_at",
    Engagement.CLICKED: "clicked_at",
    Engagement.ANSWERED: "answered_at",
    Engagement.UNSUBSCRIBED: "unsubscribed_at",
    Engagement.DELIVERED: "delivered_at",
    Engagement.BOUNCED: "bounced_at",
    Engagement.COMPLAINED: "complained_at",
}


def _query_where(
    query: RequestQuery, after: str | None, email_match: str
) -> tuple[str, str, dict[str, Any]]:
    """The time column, the WHERE clause and its parameters for a view query."""
    time = "sent_at" if query.date_field is DateField.SENT else "scheduled_at"
    where = [f"{time} IS NOT NULL"] if time == "sent_at" else []
    params: dict[str, Any] = {}

    def any_of(column: str, values: Sequence[str]) -> None:
        names = [f"{column}{i}" for i in range(len(values))]
        params.update(zip(names, values, strict=True))
        where.append(f"{column} IN ({', '.join(':' + n for n in names)})")

    if query.since is not None:
        where.append(f"{time} >= :since")
        params["since"] = _to_us(query.since)
    if query.until is not None:
        where.append(f"{time} < :until")
        params["until"] = _to_us(query.until)
    if query.segments:
        any_of("segment", query.segments)
    if query.categories:
        any_of("category", [c.value for c in query.categories])
    if query.channels:
        any_of("channel", [c.value for c in query.channels])
    if query.campaign_id is not None:
        where.append("campaign_id = :campaign")
        params["campaign"] = query.campaign_id
    if query.search is not None:
        found = []
        if query.search.email is not None:
            found.append(email_match)
            params["email"] = query.search.email
        if query.search.phone is not None:
            found.append("phone = :phone")
            params["phone"] = query.search.phone
        if query.search.transaction_id is not None:
            found.append("transaction_id = :transaction")
            params["transaction"] = query.search.transaction_id
        where.append("(" + " OR ".join(found or ["FALSE"]) + ")")
    if after is not None:
        at, seq = _read_cursor(after)
        where.append(f"({time}, seq) < (:after_at, :after_seq)")
        params.update(after_at=at, after_seq=seq)
    return time, " AND ".join(where) or "TRUE", params


def _split(query: RequestQuery) -> list[RequestQuery]:
    """*query* as queries of one category and one segment each (unless a search narrows it
    to a few rows anyway)."""
    if query.search is not None:
        return [query]
    none: tuple[Any, ...] = ()
    categories: list[tuple[Any, ...]] = [(c,) for c in dict.fromkeys(query.categories)] or [none]
    segments: list[tuple[Any, ...]] = [(s,) for s in dict.fromkeys(query.segments)] or [none]
    if len(categories) * len(segments) == 1:
        return [query]
    return [attrs.evolve(query, categories=c, segments=s) for c in categories for s in segments]


def _claimable_at(status: str, due_at: datetime | None, lease_until: datetime | None) -> int | None:
    """When an outbox entry (a notification, a report run) may next be claimed: its due
    time while pending, its lease's end while claimed, never once sent or failed."""
    if status == "pending":
        return _to_us(due_at)
    if status == "claimed":
        return _to_us(lease_until)
    return None


"""The schema version that added the score rollups, filled from the answers on upgrade."""

_ROLLUP_SPANS = (86_400_000_000, 3_600_000_000)
"""The rollups' slot lengths in microseconds, longest first: a UTC day and a UTC hour."""

_UNBOUNDED_LOW, _UNBOUNDED_HIGH = -(2**62), 2**62
"""Range ends standing for "no bound" (epoch microseconds far beyond any answer)."""

_ROLLUP_GROUPS = {
    None: "NULL",
    "segment": "a.segment_key",
    "channel": "a.channel",
    "campaign": "a.campaign_id",
}

_ANSWER_COLUMNS = {"segment": "a.segment", "channel": "a.channel", "campaign": "a.campaign_id"}


def _answer_group(by: str | None, field: str) -> tuple[str | None, str]:
    """The SQL expression to group answers by, and the join it needs."""
    check_dimension(by)
    if by is None:
        return None, ""
    if by in _ANSWER_COLUMNS:
        return _ANSWER_COLUMNS[by], ""
    # The field's name goes in as a bound parameter (:field_path), never into the SQL text.
    return field, " JOIN deliveries AS d ON d.id = a.delivery_id"


@functools.lru_cache(maxsize=4096)
def _rule_of(data: str) -> AlertRule:
    """The rule stored as *data*: rules are read at every evaluation, and a frozen rule read
    once serves every later reading of the same text."""
    return rule_from_data(json.loads(data))


def _answer_row(a: Answer) -> tuple[Any, ...]:
    return (
        a.id,
        a.request_id,
        a.campaign_id,
        a.kind.value,
        a.score,
        a.comment,
        _to_us(a.at),
        a.channel.value,
        a.segment,
        int(a.current),
        int(a.hook_done),
        a.hook_attempts,
        a.hook_error,
        _to_us(a.hook_next_at),
    )


def _answer_from_row(row: Sequence[Any]) -> Answer:
    (id_, request_id, campaign_id, kind, score, comment, at, channel, segment, current,
     hook_done, hook_attempts, hook_error, hook_next_at) = row  # fmt: skip
    return Answer(
        id=id_,
        request_id=request_id,
        campaign_id=campaign_id,
        kind=SurveyType(kind),
        score=score,
        comment=comment,
        at=_EPOCH + timedelta(microseconds=at),
        channel=Channel(channel),
        segment=segment,
        current=bool(current),
        hook_done=bool(hook_done),
        hook_attempts=hook_attempts,
        hook_error=hook_error,
        hook_next_at=_from_us(hook_next_at),
    )


def _read_cursor(cursor: str) -> tuple[int, int]:
    try:
        at, seq = cursor.split(".")
        return int(at), int(seq)
    except ValueError:
        raise ValidationError(f"page cursor {cursor!r} is not one this store returned") from None


def _report_json(report: ReportDefinition) -> str:
    return json.dumps(unstructure(report), ensure_ascii=False)


def _marks(values: Sequence[object] | Collection[object]) -> str:
    return ", ".join("?" * len(values))


def _campaign_json(campaign: Campaign) -> str:
    return json.dumps(unstructure(campaign), separators=(",", ":"), sort_keys=True)


def _campaign_from_row(row: Sequence[Any]) -> Campaign:
    _id, _name, _status, version, _created, data = row
    try:
        loaded = structure(json.loads(data), Campaign)
    except (ValueError, ValidationError) as exc:
        raise StorageError(f"campaign {_name!r} cannot be read from the database: {exc}") from exc
    return attrs.evolve(loaded, version=version)


_JSON = json.JSONEncoder(separators=(",", ":"), default=str, ensure_ascii=False)


def _json_or_none(value: Mapping[str, Any]) -> str | None:
    if not value:
        return None
    return _JSON.encode(dict(value))


def _fields_json(fields: Mapping[str, Any]) -> str | None:
    """A recipient's fields as stored: each set of text values encoded once (many requests
    share their fields' values, as a store's name), anything else every time."""
    if not fields:
        return None
    if set(map(type, fields.values())) == {str}:  # not 1 and True, which are equal keys
        return _fields_json_of(tuple(fields.items()))
    return _JSON.encode(dict(fields))


@lru_cache(maxsize=1024)
def _fields_json_of(items: tuple[tuple[str, Any], ...]) -> str:
    return _JSON.encode(dict(items))


@lru_cache(maxsize=1024)
def _consents_json(consents: tuple[tuple[str, Consent], ...]) -> str | None:
    # An import gives thousands of rows the same few consents: encode each set once.
    return _json_or_none(consents_to_json(dict(consents)))


def _request_row(d: Request) -> tuple[Any, ...]:
    r = d.recipient
    return (
        d.id,
        d.campaign_id,
        d.channel.value,
        d.address,
        d.request_key,
        d.status.value,
        _to_us(d.claimable_at),
        _to_us(d.due_at),
        d.attempts,
        d.last_error,
        _to_us(d.sent_at),
        d.claimed_by,
        _to_us(d.lease_until),
        r.email,
        r.phone,
        r.name,
        r.transaction_id,
        r.timezone,
        _fields_json(r.fields),
        d.sender,
        _to_us(d.created_at),
        _to_us(d.scheduled_at),
        r.segment,
        _consents_json(tuple(r.consents.items())) if r.consents else None,
        d.reason,
        _to_us(d.remind_at),
        d.reminders_sent,
        _to_us(d.opened_at),
        _to_us(d.clicked_at),
        _to_us(d.answered_at),
        _to_us(d.unsubscribed_at),
        r.chat_id,
        _to_us(d.delivered_at),
        _to_us(d.bounced_at),
        _to_us(d.complained_at),
    )


def _request_from_row(row: Sequence[Any]) -> Request:
    (
        id_,
        campaign_id,
        channel,
        address,
        _key,
        status,
        _available,
        due_at,
        attempts,
        last_error,
        sent_at,
        claimed_by,
        lease_until,
        email,
        phone,
        name,
        transaction_id,
        timezone,
        fields,
        sender,
        created_at,
        scheduled_at,
        segment,
        consents,
        reason,
        remind_at,
        reminders_sent,
        opened_at,
        clicked_at,
        answered_at,
        unsubscribed_at,
        chat_id,
        delivered_at,
        bounced_at,
        complained_at,
    ) = row
    return Request(
        id=id_,
        campaign_id=campaign_id,
        recipient=Recipient(
            email=email,
            phone=phone,
            name=name,
            transaction_id=transaction_id,
            timezone=timezone,
            segment=segment,
            chat_id=chat_id,
            consents=consents_from_json(json.loads(consents)) if consents else None,
            fields=json.loads(fields) if fields else None,
        ),
        channel=Channel(channel),
        address=address,
        status=RequestStatus(status),
        due_at=_from_us(due_at),
        attempts=attempts,
        last_error=last_error,
        sent_at=_from_us(sent_at),
        claimed_by=claimed_by,
        lease_until=_from_us(lease_until),
        sender=sender,
        created_at=_from_us(created_at),
        scheduled_at=_EPOCH + timedelta(microseconds=scheduled_at),
        reason=reason,
        remind_at=_from_us(remind_at),
        reminders_sent=reminders_sent,
        opened_at=_from_us(opened_at),
        clicked_at=_from_us(clicked_at),
        answered_at=_from_us(answered_at),
        unsubscribed_at=_from_us(unsubscribed_at),
        delivered_at=_from_us(delivered_at),
        bounced_at=_from_us(bounced_at),
        complained_at=_from_us(complained_at),
    )
