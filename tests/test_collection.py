"""The collection view: one request per transaction, categories, filters, keyset pages,
search, the default view, export neutralisation and index-using query plans."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.adapters.sqlite import SQLiteStore
from reviewkit.domain.collection import neutralize_cell
from reviewkit.domain.request import category_of

D = rk.RequestStatus
C = rk.RequestCategory
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SEGMENTS = [None, "vip", "regular"]
REASONS = [None, "unsubscribed", "no_consent", "blocklisted"]


def _dataset(store: rk.Store) -> list[rk.Request]:
    """A hundred-odd requests across two campaigns in every status, segment and channel."""
    first = store.add_campaign(rk.Campaign(name="first"))
    second = store.add_campaign(rk.Campaign(name="second", channel=rk.Channel.SMS))
    made = []
    for i in range(120):
        status = list(D)[i % len(D)]
        sms = i % 5 == 0
        campaign = second if sms else first
        made.append(
            rk.Request(
                campaign_id=campaign.id,
                recipient=rk.Recipient(
                    email="żaneta@example.com" if i % 40 == 39 else f"c{i % 40}@example.com",
                    phone=f"+4850010{i % 30:04d}",
                    transaction_id=f"T-{i}",
                    segment=SEGMENTS[i % 3],
                ),
                channel=campaign.channel,
                address=f"+4850010{i % 30:04d}" if sms else f"c{i % 40}@example.com",
                status=status,
                # A few share a scheduled time, so the order's tie-breaker matters.
                scheduled_at=T0 + timedelta(hours=i // 2),
                sent_at=T0 + timedelta(hours=i // 2, minutes=5) if status is D.SENT else None,
                reason=REASONS[i % 4] if status is D.SUPPRESSED else None,
                unsubscribed_at=T0 if status is D.SENT and i % 7 == 0 else None,
                lease_until=T0 if status is D.CLAIMED else None,
                claimed_by="w" if status is D.CLAIMED else None,
            )
        )
    assert store.add_requests(made) == len(made)
    return made


@pytest.fixture
def dataset(store: rk.Store) -> list[rk.Request]:
    return _dataset(store)


def _expected(query: rk.RequestQuery, made: list[rk.Request]) -> list[str]:
    order = {d.id: i for i, d in enumerate(made)}
    found = [d for d in made if query.matches(d)]
    found.sort(key=lambda d: (query.time_of(d), order[d.id]), reverse=True)
    return [d.id for d in found]


def _walk(store: rk.Store, query: rk.RequestQuery, size: int) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = store.query_requests(query, limit=size, after=cursor)
        assert len(page.items) <= size
        ids += [d.id for d in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return ids


queries = st.builds(
    rk.RequestQuery,
    since=st.none() | st.integers(0, 60).map(lambda h: T0 + timedelta(hours=h)),
    until=st.none() | st.integers(61, 100).map(lambda h: T0 + timedelta(hours=h)),
    date_field=st.sampled_from(list(rk.DateField)),
    segments=st.lists(st.sampled_from(["vip", "regular", "none"]), max_size=2),
    categories=st.lists(st.sampled_from(list(C)), max_size=3),
    channels=st.lists(st.sampled_from(list(rk.Channel)), max_size=1),
    search=st.none()
    | st.builds(
        rk.Search,
        email=st.none()
        | st.integers(0, 45).map(lambda i: f"C{i}@Example.com")
        | st.sampled_from(["żaneta@example.com", "ŻANETA@example.com", "Żaneta@EXAMPLE.com"]),
        phone=st.none() | st.integers(0, 35).map(lambda i: f"+4850010{i:04d}"),
        transaction_id=st.none() | st.integers(0, 130).map(lambda i: f"T-{i}"),
    ),
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=queries, size=st.sampled_from([1, 7, 25]))
def test_every_filter_matches_the_reference_and_pages_cover_it_once(
    store: rk.Store, dataset: list[rk.Request], query: rk.RequestQuery, size: int
) -> None:
    """Any combination of filters gives exactly the requests the reference filter picks,
    newest first; walking the keyset pages yields each once, in the same order."""
    assert _walk(store, query, size) == _expected(query, dataset)


def test_the_stores_category_equals_the_domains(store: rk.Store) -> None:
    """The SQL category (a generated column) equals :func:`category_of` for every status,
    reason and unsubscribe mark."""
    campaign = store.add_campaign(rk.Campaign(name="c"))
    made = [
        rk.Request(
            campaign_id=campaign.id,
            recipient=rk.Recipient(email=f"x{n}@example.com"),
            channel=rk.Channel.EMAIL,
            address=f"x{n}@example.com",
            status=status,
            reason=reason,
            unsubscribed_at=T0 if unsubscribed else None,
        )
        for n, (status, reason, unsubscribed) in enumerate(
            (s, r, u) for s in D for r in REASONS for u in (False, True)
        )
    ]
    store.add_requests(made)
    for category in C:
        page = store.query_requests(rk.RequestQuery(categories=[category]), limit=100)
        got = {d.id for d in page.items}
        want = {
            d.id
            for d in made
            if category_of(d.status, d.reason, d.unsubscribed_at is not None) is category
        }
        assert got == want, category


def test_one_request_per_transaction_and_channel(
    service: rk.CampaignService, actor: rk.Actor
) -> None:
    """The same order twice is one request; two orders of one customer are two; without a
    transaction id the address decides."""
    service.create(actor, name="c")
    first = service.add_recipients(
        actor,
        "c",
        [
            rk.Recipient(email="ala@example.com", transaction_id="Z-1"),
            rk.Recipient(email="ala@example.com", transaction_id="Z-2"),
            rk.Recipient(email="ALA@example.com", transaction_id="Z-1"),
            rk.Recipient(email="ola@example.com"),
            rk.Recipient(email="Ola@example.com"),
        ],
    )
    assert (first.added, first.duplicates) == (3, 2)
    again = service.add_recipients(
        actor, "c", [rk.Recipient(email="ala@example.com", transaction_id="Z-2")]
    )
    assert (again.added, again.duplicates) == (0, 1)


def test_default_view_is_pending_of_the_last_seven_days(
    store: rk.Store, reviewkit_clock: rk.ManualClock, actor: rk.Actor
) -> None:
    service = rk.CampaignService(store, reviewkit_clock)
    view = rk.CollectionService(store, reviewkit_clock)
    service.create(actor, name="c")
    reviewkit_clock.advance(timedelta(days=-8))
    service.add_recipients(actor, "c", [rk.Recipient(email="old@example.com")])
    reviewkit_clock.advance(timedelta(days=8))
    service.add_recipients(
        actor, "c", [rk.Recipient(email="new@example.com"), rk.Recipient(email="x@example.com")]
    )
    (withdrawn,) = [d for d in service.requests(actor, "c") if d.address == "x@example.com"]
    service.remove_requests(actor, "c", [withdrawn.id])
    page = view.page(actor)
    assert [d.address for d in page.items] == ["new@example.com"]
    assert page.next_cursor is None
    with pytest.raises(rk.ValidationError, match="page size 30"):
        view.page(actor, page_size=30)
    with pytest.raises(rk.ValidationError, match="cursor"):
        view.page(actor, cursor="not-a-cursor")
    with pytest.raises(rk.PermissionDeniedError):
        view.page(rk.Actor(id="nobody"))


@pytest.mark.parametrize(
    "typed",
    ["+48 500 100 200", "500-100-200", "0048500100200", "(500) 100 200", "+48500100200"],
)
def test_a_phone_written_any_common_way_is_found(typed: str) -> None:
    assert rk.parse_search(typed, "PL").phone == "+48500100200"


def test_search_reads_email_and_transaction() -> None:
    assert rk.parse_search(" Jan@Example.COM ") == rk.Search(email="Jan@example.com")
    assert rk.parse_search("Z/2026/11/0042") == rk.Search(transaction_id="Z/2026/11/0042")
    digits = rk.parse_search("20261142")
    assert digits.transaction_id == "20261142"
    with pytest.raises(rk.ValidationError, match="empty"):
        rk.parse_search("  ")


def test_query_refuses_an_empty_range_and_unknown_category() -> None:
    with pytest.raises(rk.ValidationError, match="date range is empty"):
        rk.RequestQuery(since=T0, until=T0)
    with pytest.raises(rk.ValidationError, match="choose from pending"):
        rk.RequestQuery(categories=["archived"])
    with pytest.raises(rk.ValidationError, match="timezone-aware"):
        rk.RequestQuery(since=datetime(2026, 1, 1))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+48500100200", "'+48500100200"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Z-1", "Z-1"),
        ("", ""),
    ],
)
def test_cells_a_spreadsheet_would_run_are_neutralised(cell: str, safe: str) -> None:
    assert neutralize_cell(cell) == safe


@given(st.text(max_size=20))
def test_no_neutralised_cell_starts_a_formula(cell: str) -> None:
    safe = neutralize_cell(cell)
    assert not safe.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert safe in (cell, "'" + cell)


def test_export_writes_the_query_neutralised(
    store: rk.Store, reviewkit_clock: rk.ManualClock, actor: rk.Actor, tmp_path: Path
) -> None:
    """The export holds the same requests as the query, each row's columns as the view
    shows them, with a formula in a transaction id made harmless."""
    service = rk.CampaignService(store, reviewkit_clock)
    view = rk.CollectionService(store, reviewkit_clock)
    service.create(actor, name="c", default_region="PL")
    service.add_recipients(
        actor,
        "c",
        [
            rk.Recipient(
                email=f"c{i}@example.com",
                phone="500 100 200",
                transaction_id=f"=cmd|'/c calc'!A{i}" if i == 3 else f"Z-{i}",
                segment="vip",
                consents={
                    rk.PUBLICATION: rk.Consent(granted=i % 2 == 0, source="checkout"),
                    "marketing": True,
                },
            )
            for i in range(1_200)
        ],
    )
    out = tmp_path / "requests.csv"
    query = rk.RequestQuery(categories=[C.PENDING])
    assert view.export(actor, query, out) == 1_200
    text = out.read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1_200
    assert {r["transaction_id"] for r in rows} >= {"Z-0", "'=cmd|'/c calc'!A3"}
    first = next(r for r in rows if r["transaction_id"] == "Z-0")
    assert first["phone"] == "'+48500100200"  # a phone starts with +, a formula character
    assert (first["publication_consent"], first["other_consents"]) == ("yes", "marketing=yes")
    assert (first["category"], first["segment"], first["channel"]) == ("pending", "vip", "email")
    assert (first["campaign"], first["campaign_id"]) == ("c", service.get(actor, "c").id)


def _plan_cases() -> dict[str, rk.RequestQuery]:
    """The view's usual queries, whose plans must read an index."""
    now = T0 + timedelta(days=3)
    return {
        "default": rk.RequestQuery.default(now),
        "all": rk.RequestQuery(),
        "sent range": rk.RequestQuery(date_field=rk.DateField.SENT, categories=[C.SENT], since=T0),
        "segment": rk.RequestQuery(segments=["vip"], categories=[C.PENDING]),
        "two categories, two segments": rk.RequestQuery(
            segments=["vip", "regular"], categories=[C.REJECTED, C.UNSUBSCRIBED]
        ),
        "phone": rk.RequestQuery(search=rk.parse_search("500 100 007")),
        "transaction": rk.RequestQuery(search=rk.Search(transaction_id="T-7")),
        "e-mail": rk.RequestQuery(search=rk.parse_search("c7@example.com")),
    }


def test_query_plans_use_indexes(tmp_path: Path) -> None:
    """The view's queries read an index (no full scan of the table, no sort in memory for
    the usual orders)."""
    with SQLiteStore(tmp_path / "plans.sqlite3") as store:
        _dataset(store)
        cases = _plan_cases()
        for name, query in cases.items():
            lines = store.explain_query(query)
            plan = " | ".join(lines)
            # Every step over the table goes through an index (a full scan would say
            # "SCAN deliveries" alone).
            steps = [line for line in lines if "deliveries" in line]
            assert steps, (name, plan)
            assert all("INDEX" in line for line in steps), (name, plan)
            if query.search is None:
                assert "TEMP B-TREE" not in plan, (name, plan)


def test_postgres_query_plans_use_indexes(postgres_url: str) -> None:
    """The same on PostgreSQL, once its statistics are gathered: no sequential scan of the
    requests, and the newest page of all of them read in index order."""
    import psycopg

    from reviewkit.adapters.postgres import PostgresStore

    with PostgresStore(postgres_url) as store:
        _dataset(store)
        filler = store.add_campaign(rk.Campaign(name="filler"))
        store.add_requests(
            rk.Request(
                campaign_id=filler.id,
                recipient=rk.Recipient(email=f"f{n}@example.com", segment=f"s{n % 50}"),
                channel=rk.Channel.EMAIL,
                address=f"f{n}@example.com",
                scheduled_at=T0 - timedelta(days=400, minutes=n),
            )
            for n in range(30_000)
        )
        with psycopg.connect(postgres_url, autocommit=True) as raw:
            raw.execute("ANALYZE")
        cases = _plan_cases()
        for name, query in cases.items():
            plan = " | ".join(store.explain_query(query))
            assert "Seq Scan on deliveries" not in plan, (name, plan)
            assert "Index" in plan, (name, plan)
        # Over the whole table the page is read in index order, not sorted (a small match
        # may be sorted: the planner's choice, and cheap).
        plan = " | ".join(store.explain_query(rk.RequestQuery()))
        assert "Sort" not in plan.replace("Sort Key", ""), plan
