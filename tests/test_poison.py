"""One request that cannot be rendered or sent fails alone: the worker and other campaigns go on."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import reviewkit as rk
from reviewkit.adapters.sqlite import SQLiteStore

from .smtp_server import smtp_server

PAST = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

# A template that every sample passes, fed data that breaks it in one row each.
POISON_BODY = (
    "Per item: {{ recipient.fields.total|int // recipient.fields.count|int }}\n"
    "{% for a in range(recipient.fields.n|int) %}{% for b in range(recipient.fields.n|int) %}"
    "x{% endfor %}{% endfor %}\n"
    "{{ recipient.fields.pad * (recipient.fields.k|int) }}"
)
GOOD = {"total": "100", "count": "4", "n": "2", "pad": "-", "k": "3"}
POISON_ROWS = {
    3: {"count": "0"},  # division by zero
    7: {"n": "100000"},  # range over the limit
    11: {"n": "900"},  # nested loops over the work budget
    19: {"k": "1000000000"},  # a gigabyte of padding
}


@pytest.mark.parametrize(
    "template",
    [
        "{{ range(10**9)|list }}",
        "{% include 'other.txt' %}",
        "{% for a in x %}{% for b in a %}{% for c in b %}{% endfor %}{% endfor %}{% endfor %}",
        "{{ 'x' * 10**9 }}",
        "{% for a in range(1000) %}{% for b in range(1000) %}x{% endfor %}{% endfor %}",
    ],
)
def test_templates_over_the_budget_are_refused_when_written(template: str) -> None:
    """What can never render within the budget is refused at create, not at every send."""
    service = rk.CampaignService(rk.InMemoryStore(), rk.ManualClock(PAST))
    with pytest.raises(rk.TemplateError):
        service.create(rk.Actor.system(), name="c", body=template)


def _prepare(db: Path) -> None:
    with SQLiteStore(db) as store:
        service = rk.CampaignService(store, rk.ManualClock(PAST))
        me = rk.Actor.system()
        common = {"sender": "opinie@sklep.example", "subject": "Order", "start_at": PAST}
        service.create(me, name="poisoned", body=POISON_BODY, **common)  # type: ignore[arg-type]
        service.add_recipients(
            me,
            "poisoned",
            [
                rk.Recipient(
                    email=f"p{i}@example.com",
                    transaction_id=f"P{i}",
                    fields=GOOD | POISON_ROWS.get(i, {}),
                )
                for i in range(30)
            ],
        )
        service.schedule(me, "poisoned")
        service.create(me, name="later", body="Hello {{ recipient.name }}", **common)  # type: ignore[arg-type]
        service.add_recipients(
            me, "later", [rk.Recipient(email=f"g{i}@example.com", name=f"G{i}") for i in range(50)]
        )
        service.schedule(me, "later")


def test_poison_rows_fail_alone_in_a_real_worker_process(tmp_path: Path) -> None:
    """A worker process sends every good request exactly once and fails each poison row
    with its reason; the next campaign is untouched and nothing crashes."""
    db = tmp_path / "db.sqlite3"
    _prepare(db)
    with smtp_server() as (handler, port):
        result = subprocess.run(
            [sys.executable, "-m", "reviewkit", "dispatch", "--db", str(db),
             "--smtp", f"smtp+insecure://127.0.0.1:{port}?from=opinie@sklep.example",
             "--until-idle", "--max-wait", "2s"],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        recipients = [r for _, rcpts, _ in handler.messages for r in rcpts]
    assert "Traceback" not in result.stderr
    assert result.returncode == 3, result.stderr  # done, but requests failed
    assert len(recipients) == len(set(recipients)) == 26 + 50
    with SQLiteStore(db) as store:
        service = rk.CampaignService(store, rk.ManualClock(PAST + timedelta(days=1)))
        me = rk.Actor.system()
        failed = {
            d.recipient.transaction_id: d.last_error or ""
            for d in service.requests(me, "poisoned", {rk.RequestStatus.FAILED})
        }
        assert set(failed) == {f"P{i}" for i in POISON_ROWS}
        assert "ZeroDivisionError" in failed["P3"]
        assert "range() of 100000 numbers" in failed["P7"]
        assert "more than 100000 steps" in failed["P11"]
        assert "repeating a value 1000000000 times" in failed["P19"]
        assert service.get(me, "poisoned").status is rk.CampaignStatus.COMPLETED
        assert service.counts(me, "later")[rk.RequestStatus.SENT] == 50


def test_an_unexpected_error_in_the_transport_fails_that_request_only(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """A transport bug (an exception reviewkit does not know) fails the request, with it."""

    class Flaky(rk.InMemoryTransport):
        def send(self, message: rk.OutgoingMessage) -> None:
            if message.to == "customer1@example.com":
                raise UnicodeEncodeError("ascii", "ż", 0, 1, "ordinal not in range(128)")
            super().send(message)

    from .conftest import make_campaign

    make_campaign(service, actor, recipients=3, interval=timedelta(0))
    outbox = Flaky()
    report = rk.Dispatcher(store, outbox, reviewkit_clock).run()
    assert (report.sent, report.failed) == (2, 1)
    (failed,) = service.requests(actor, "reviews", {rk.RequestStatus.FAILED})
    assert (failed.last_error or "").startswith("unexpected UnicodeEncodeError:")


def test_a_worker_stopped_mid_batch_gives_back_what_it_did_not_try(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """Interrupted on its second send, a worker releases the rest of its batch at once:
    they are Pending and due again, not held until the lease runs out."""

    class Interrupted(rk.InMemoryTransport):
        def send(self, message: rk.OutgoingMessage) -> None:
            if len(self.sent) == 1:
                raise KeyboardInterrupt
            super().send(message)

    from .conftest import make_campaign

    make_campaign(service, actor, recipients=5, interval=timedelta(0))
    with pytest.raises(KeyboardInterrupt):
        rk.Dispatcher(store, Interrupted(), reviewkit_clock, worker_id="a").run()
    counts = service.counts(actor, "reviews")
    assert counts[rk.RequestStatus.SENT] == 1
    assert counts[rk.RequestStatus.CLAIMED] == 1  # the one in flight keeps its lease
    assert counts[rk.RequestStatus.PENDING] == 3
    report = rk.Dispatcher(store, rk.InMemoryTransport(), reviewkit_clock, worker_id="b").run(
        max_wait=timedelta(seconds=1)
    )
    assert report.sent == 3
