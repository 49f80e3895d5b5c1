"""A whole survey campaign from the shell alone: create with a survey, import, schedule,
dispatch to a real SMTP server, answer through the real answer page over HTTP, then
`scores` and `answers export` — each step a `reviewkit` process on one SQLite file."""

from __future__ import annotations

import csv
import email
import email.policy
import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import reviewkit as rk
from reviewkit.web import make_app

from .smtp_server import smtp_server
from .web_server import serving

KEYS = "k1:a-long-enough-secret-for-links"


@pytest.fixture
def answer_page(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The answer page on 127.0.0.1, reading and writing the database the shell uses."""
    db = tmp_path / "shop.sqlite3"
    rk.SQLiteStore(db).close()
    store = rk.SQLiteStore(db)
    answers = rk.AnswerService(store, rk.SystemClock(), rk.LinkSigner.from_text(KEYS))
    with serving(make_app(answers)) as base:
        yield base, db
    store.close()


def _shell(db: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "reviewkit", *args, "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "REVIEWKIT_LINK_KEYS": KEYS},
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    return done.stdout


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _post(url: str, fields: dict[str, str]) -> int:
    data = urllib.parse.urlencode(fields).encode()
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        request = urllib.request.Request(url, data=data)  # noqa: S310 - http on 127.0.0.1
        with opener.open(request, timeout=10) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as reply:  # the 303 after a recorded answer
        return int(reply.code)


def test_a_survey_campaign_from_the_shell_alone(
    answer_page: tuple[str, Path], tmp_path: Path
) -> None:
    base, db = answer_page
    body = tmp_path / "body.txt"
    body.write_text(
        "Hello {{ recipient.name }}, how likely are you to recommend us?\n"
        "{% for option in survey.options %}{{ option.score }} {{ option.url }}\n{% endfor %}",
        encoding="utf-8",
    )
    orders = tmp_path / "orders.csv"
    rows = [f"c{n}@example.com,Customer {n},ZAM-{n},{'vip' if n < 3 else 'b2c'}" for n in range(6)]
    orders.write_text(
        "email,name,transaction_id,segment\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    _shell(
        db, "campaign", "create", "--name", "spring", "--from", "opinie@sklep.example",
        "--subject", "Order {{ recipient.transaction_id }}", "--body-file", str(body),
        "--survey", "nps", "--privacy-url", "https://sklep.example/privacy",
        "--answer-url", base + "/a/{token}", "--reminder", "3d", "--reminders", "2",
        "--days", "mon-sun", "--hours", "00:00-24:00", "--start", "2026-01-05T08:00:00+00:00",
    )  # fmt: skip
    shown = json.loads(_shell(db, "campaign", "show", "spring", "--format", "json"))
    assert shown["survey"]["type"] == "nps"
    assert shown["reminder"]["count"] == 2
    _shell(db, "import", str(orders), "--campaign", "spring")
    _shell(db, "campaign", "schedule", "spring")
    with smtp_server() as (handler, port):
        url = f"smtp+insecure://127.0.0.1:{port}?from=opinie@sklep.example"
        _shell(db, "dispatch", "--smtp", url, "--until-idle", "--max-wait", "2s")
        received = [email.message_from_bytes(raw, policy=email.policy.default)
                    for _, _, raw in handler.messages]  # fmt: skip
    assert len(received) == 6
    scores = {"c0": 10, "c1": 9, "c2": 3, "c3": 9, "c4": 7}  # c5 does not answer
    for message in received:
        who = str(message["To"]).split("@")[0]
        if who not in scores:
            continue
        text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        links = dict(re.findall(r"^(\d+) (\S+?)\r?$", text, re.M))
        assert links, text
        assert _post(links[str(scores[who])], {"comment": f"=from {who}"}) == 303
    by_segment = json.loads(
        _shell(db, "scores", "--by", "segment", "--min-sample", "1", "--format", "json")
    )
    nps = {row["group"]: row for row in by_segment if row["type"] == "nps"}
    assert nps["vip"]["n"] == 3
    assert nps["vip"]["score"] == pytest.approx(100 * (2 - 1) / 3, abs=0.1)
    assert nps["b2c"]["n"] == 2
    export = tmp_path / "answers.csv"
    assert _shell(db, "answers", "export", "--output", str(export)).startswith("5 answers")
    with export.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(int(r["score"]) for r in rows) == sorted(scores.values())
    assert {r["campaign"] for r in rows} == {"spring"}
    assert all(r["comment"].startswith("'=from ") for r in rows)  # neutralised formulas
    listed = json.loads(_shell(db, "answers", "list", "--type", "nps", "--format", "json"))
    assert len(listed) == 5
    assert listed[0]["answered_at"].endswith("+00:00")


def test_a_link_printed_by_the_shell_opens_the_page_and_records_its_score(
    answer_page: tuple[str, Path], tmp_path: Path
) -> None:
    """`reviewkit link` prints the request's signed one-click link (for `reviewkit qr`);
    posting to it records the score; an unsubscribe link suppresses the address."""
    base, db = answer_page
    _shell(
        db, "campaign", "create", "--name", "till", "--from", "opinie@sklep.example",
        "--subject", "Hi", "--survey", "csat", "--privacy-url", "https://sklep.example/p",
        "--answer-url", base + "/a/{token}", "--unsubscribe-url", base + "/u/{token}",
    )  # fmt: skip
    _shell(db, "request", "send", "--campaign", "till", "--email", "ala@example.com",
           "--transaction", "Z-1")  # fmt: skip
    with rk.SQLiteStore(db) as store:
        (request,) = store.iter_requests(store.get_campaign("till").id)
    link = _shell(db, "link", request.id, "--score", "4").strip()
    assert link.startswith(base + "/a/")
    assert _post(link, {}) == 303
    unsubscribe = _shell(db, "link", request.id, "--purpose", "unsubscribe").strip()
    assert _post(unsubscribe, {"List-Unsubscribe": "One-Click"}) in (200, 303)
    with rk.SQLiteStore(db) as store:
        (answer,) = store.answers_for(request.id)
        assert (answer.score, answer.kind) == (4, rk.SurveyType.CSAT)
        assert store.get_suppression(rk.Channel.EMAIL, "ala@example.com") is not None
    qr = tmp_path / "till.svg"
    subprocess.run([sys.executable, "-m", "reviewkit", "qr", link, "--output", str(qr)],
                   check=True, capture_output=True)  # fmt: skip
    assert qr.read_text().startswith("<?xml")
    refused = subprocess.run(
        [sys.executable, "-m", "reviewkit", "link", request.id, "--score", "9", "--db", str(db)],
        capture_output=True, text=True, env={**os.environ, "REVIEWKIT_LINK_KEYS": KEYS},
    )  # fmt: skip
    assert refused.returncode == 1
    assert "not on the CSAT scale" in refused.stderr


def test_import_and_dispatch_report_in_json(tmp_path: Path) -> None:
    """`import --format json` and `dispatch --format json` print one object each, with the
    counts, the rejected rows and what completed; the exit statuses are the text ones."""
    db = tmp_path / "r.sqlite3"
    rows = tmp_path / "rows.csv"
    rows.write_text("email,name\nala@example.com,Ala\nnot an address,Bad\nola@example.com,Ola\n")
    body = tmp_path / "body.txt"
    body.write_text("Hello {{ recipient.name }}")
    _shell(db, "campaign", "create", "--name", "c", "--from", "opinie@sklep.example",
           "--subject", "Hi", "--body-file", str(body), "--start", "2020-01-01T00:00:00+00:00",
           "--days", "mon-sun", "--hours", "00:00-24:00")  # fmt: skip
    imported = subprocess.run(
        [sys.executable, "-m", "reviewkit", "import", str(rows), "--campaign", "c",
         "--format", "json", "--db", str(db)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert imported.returncode == 3
    summary = json.loads(imported.stdout)
    assert (summary["rows"], summary["accepted"], summary["rejected"]) == (3, 2, 1)
    assert summary["errors"][0]["row"] == 3
    assert summary["errors_file"] is None
    _shell(db, "campaign", "schedule", "c")
    options = ["--until-idle", "--max-wait", "1s", "--format", "json"]
    dispatched = json.loads(_shell(db, "dispatch", "--outbox", str(tmp_path / "out"), *options))
    assert dispatched["sent"] == 2
    assert dispatched["completed"] == ["c"]
    assert dispatched["failed_campaigns"] == {}
    assert dispatched["alerts"] is None
