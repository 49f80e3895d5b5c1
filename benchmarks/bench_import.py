"""Import a generated CSV of N rows with full validation into SQLite, then query the
collection view over the N requests.

The file is realistic: names, e-mails, Polish mobile numbers in the spellings people use
(``501 234 567``, ``+48 501-234-567``, ``(+48) …``), 0.5 % bad rows. Contestant, when pandas
is installed (``pip install 'reviewkit[bench]'``): ``pandas.read_csv`` + email-validator +
phonenumbers on every row + ``to_sql``, the pipeline a user could write in an afternoon.

Import floor, in the same run: ``csv.reader`` + plain ``sqlite3`` ``executemany`` of the same
rows, unchecked, into the same schema in one transaction, with the store's own pragmas (WAL,
64 MiB cache), so the ratio is what checking and the library cost. The library checks every
e-mail (email-validator's rules), every phone (phonenumbers: parse, validate, E.164), the
consent column and the segment, and stores batches of 1,000, each atomic.

Query baselines, in the same run and on the same file: a bare ``sqlite3`` keyset page of 50
rows on the scheduled-time index, and the same page by ``OFFSET`` near the end of the table.
"""

from __future__ import annotations

import csv
import os
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import reviewkit as rk
from benchmarks.common import Row, peak_memory
from reviewkit.adapters.sqlite import SQLiteStore
from reviewkit.adapters.sqlite import queries as q
from reviewkit.services.importer import import_csv

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DOMAINS = ["gmail.com", "wp.pl", "onet.pl", "o2.pl", "interia.pl", "sklep.example.com"]
SEGMENTS = ["vip", "regular", "new", "wholesale"]
MOBILE = ["50", "51", "53", "60", "66", "69", "72", "78", "79", "88"]  # Polish mobile ranges
HEADER = ["email", "phone", "order", "name", "segment", "zgoda na publikację", "store"]


SPELLINGS = [  # how people type a Polish mobile number, and how often
    ("{n}", 40), ("{a} {b} {c}", 25), ("+48 {a} {b} {c}", 15), ("{a}-{b}-{c}", 10),
    ("+48{n}", 5), ("(+48) {a} {b} {c}", 5),
]  # fmt: skip
BAD_EVERY = 200  # 0.5 % of rows are bad: a mistyped e-mail or a short phone number


def write_csv(path: Path, n: int) -> int:
    """A realistic customer file of *n* rows; return how many of them are bad."""
    rng = random.Random(2026)
    forms = [form for form, _ in SPELLINGS]
    weights = [weight for _, weight in SPELLINGS]
    bad = 0
    with path.open("w", encoding="utf-8", newline="") as file:
        out = csv.writer(file, delimiter=";")
        out.writerow(HEADER)
        for i in range(n):
            number = f"{rng.choice(MOBILE)}{rng.randrange(10**7):07d}"
            phone = rng.choices(forms, weights)[0].format(
                n=number, a=number[:3], b=number[3:6], c=number[6:]
            )
            email = f"klient.{i}@{rng.choice(DOMAINS)}"
            if i % BAD_EVERY == BAD_EVERY - 1:
                bad += 1
                if i % (2 * BAD_EVERY) == BAD_EVERY - 1:
                    email = email.replace("@", ".")
                else:
                    phone = phone[:5]
            out.writerow(
                [
                    email,
                    phone,
                    f"Z/{2026 - i % 3}/{i:07d}",
                    f"Klient {i}",
                    rng.choice(SEGMENTS),
                    rng.choice(["tak", "nie", ""]),
                    rng.choice(["Kraków", "Gdańsk", "Łódź"]),
                ]
            )
    return bad


def pandas_import(source: Path, target: Path) -> tuple[float, int]:
    """What a user could write in an afternoon: pandas reads the file, email-validator and
    phonenumbers check every row (the same checks), ``to_sql`` stores the good rows."""
    import pandas as pd
    import phonenumbers
    from email_validator import EmailNotValidError, validate_email

    def email(value: str) -> str | None:
        try:
            return str(validate_email(value, check_deliverability=False).normalized)
        except EmailNotValidError:
            return None

    def phone(value: str) -> str | None:
        if not value:
            return ""
        try:
            parsed = phonenumbers.parse(value, "PL")
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(parsed):
            return None
        return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))

    _fresh(target)
    start = time.perf_counter()
    frame = pd.read_csv(source, sep=";", dtype=str, keep_default_na=False)
    frame["email"] = frame["email"].map(email)
    frame["phone"] = frame["phone"].map(phone)
    good = frame[frame["email"].notna() & frame["phone"].notna()].copy()
    good["zgoda na publikację"] = good["zgoda na publikację"].map({"tak": 1, "nie": 0})
    with sqlite3.connect(target) as db:
        good.to_sql("recipients", db, index=False, chunksize=10_000)
    return time.perf_counter() - start, len(good)


def _fresh(path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def floor_import(source: Path, target: Path) -> float:
    SQLiteStore(_fresh(target)).close()  # the same schema and indexes
    db = sqlite3.connect(target, isolation_level=None)
    for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "cache_size = -65536"):
        db.execute(f"PRAGMA {pragma}")
    db.execute(
        "INSERT INTO campaigns (id, name, status, version, data) "
        "VALUES ('c', 'c', 'draft', 1, '{}')"
    )
    start = time.perf_counter()

    def rows() -> Iterator[tuple[object, ...]]:
        with source.open(encoding="utf-8", newline="") as file:
            reader = csv.reader(file, delimiter=";")
            next(reader)
            for email, phone, order, name, segment, consent, shop in reader:
                yield (
                    uuid.uuid4().hex, "c", "email", email, "t:" + order, "pending", 0, None, 0,
                    None, None, None, None, email, phone, name, order, None,
                    '{"store":"' + shop + '"}', None, 0, 0, segment,
                    '{"publication":[' + ("true" if consent == "tak" else "false") + "]}",
                    None, None, 0, None, None, None, None, None, None, None, None,
                )  # fmt: skip

    db.execute("BEGIN")
    db.executemany(q.INSERT_REQUEST, rows())
    db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed


def library_import(
    source: Path, target: Path, workers: int | None, bad: int = 0
) -> tuple[float, int]:
    with SQLiteStore(_fresh(target)) as store:
        service = rk.CampaignService(store, rk.ManualClock(NOW))
        start = time.perf_counter()
        result = import_csv(
            service,
            rk.Actor.system(),
            "bench",
            source,
            default_region="PL",
            workers=workers,
            create=True,
        )
        elapsed = time.perf_counter() - start
    assert result.rejected == bad, result.errors[:3]
    return elapsed, result.accepted


def _spread(path: Path, n: int) -> None:
    """Give the imported requests the variety of a real view: scheduled over the last
    weeks, a third sent, some rejected or failed."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA cache_size = -65536")
    base = int((NOW - timedelta(days=30)).timestamp() * 1_000_000)
    step = 30 * 86_400 * 1_000_000 // (n + 1)  # spread over the last 30 days
    db.execute("BEGIN")
    db.execute(
        "UPDATE deliveries SET scheduled_at = :base + seq * :step, status = CASE seq % 10 "
        "WHEN 1 THEN 'sent' WHEN 2 THEN 'sent' WHEN 3 THEN 'sent' WHEN 4 THEN 'failed' "
        "WHEN 5 THEN 'suppressed' ELSE 'pending' END, "
        "sent_at = CASE WHEN seq % 10 IN (1, 2, 3) THEN :base + seq * :step + 60000000 END, "
        "reason = CASE WHEN seq % 10 = 5 THEN 'no_consent' END, "
        "channel = CASE WHEN seq % 20 = 0 THEN 'sms' ELSE 'email' END",
        {"base": base, "step": step},
    )
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()


def _median_ms(fn: Callable[[], object], repeat: int = 41) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def query_rows(path: Path, n: int) -> list[Row]:
    _spread(path, n)
    raw = sqlite3.connect(path)
    deep = min(900_000, n * 9 // 10)
    at, seq, phone, order, email = raw.execute(
        "SELECT scheduled_at, seq, phone, transaction_id, email FROM deliveries "
        "ORDER BY scheduled_at DESC, seq DESC LIMIT 1 OFFSET ?",
        (deep,),
    ).fetchone()
    keyset = (
        "SELECT * FROM deliveries WHERE (scheduled_at, seq) < (?, ?) "
        "ORDER BY scheduled_at DESC, seq DESC LIMIT 50"
    )
    offset = f"SELECT * FROM deliveries ORDER BY scheduled_at DESC, seq DESC LIMIT 50 OFFSET {deep}"
    bare_keyset = _median_ms(lambda: raw.execute(keyset, (at, seq)).fetchall())
    bare_offset = _median_ms(lambda: raw.execute(offset).fetchall(), repeat=5)
    raw.close()

    rows = [
        Row("view query", "bare sqlite3 keyset page of 50", 50, bare_keyset / 1000),
        Row("view query", f"bare sqlite3 OFFSET {deep:,}", 50, bare_offset / 1000),
    ]
    with SQLiteStore(path) as store:
        view = rk.CollectionService(store, rk.ManualClock(NOW))
        me = rk.Actor.system()
        cases: dict[str, tuple[rk.RequestQuery, str | None]] = {
            "default view, first page": (view.default_query(), None),
            f"all, page after {deep:,} rows": (rk.RequestQuery(), f"{at}.{seq}"),
            "sent in range, first page": (
                rk.RequestQuery(
                    date_field=rk.DateField.SENT,
                    categories=["sent"],
                    since=NOW - timedelta(days=20),
                    until=NOW - timedelta(days=10),
                ),
                None,
            ),
            "segment + 2 categories": (
                rk.RequestQuery(segments=["vip"], categories=["rejected", "undelivered"]),
                None,
            ),
            "channel sms": (rk.RequestQuery(channels=["sms"]), None),
            "search by phone": (
                rk.RequestQuery(search=rk.parse_search(f"{phone[3:6]} {phone[6:9]} {phone[9:]}")),
                None,
            ),
            "search by transaction id": (rk.RequestQuery(search=rk.parse_search(order)), None),
            "search by e-mail": (rk.RequestQuery(search=rk.parse_search(email.upper())), None),
        }
        for name, (query, cursor) in cases.items():
            page = view.page(me, query, page_size=50, cursor=cursor)
            assert page.items, name
            ms = _median_ms(lambda q=query, c=cursor: view.page(me, q, page_size=50, cursor=c))
            plan = " / ".join(dict.fromkeys(store.explain_query(query)))
            rows.append(
                Row(
                    "view query",
                    name,
                    len(page.items),
                    ms / 1000,
                    bare_offset / 1000,
                    f"{ms:.3f} ms median; {plan}",
                )
            )
        # Export: constant memory whatever the size of the result.
        small = rk.RequestQuery(since=NOW - timedelta(days=30), until=NOW - timedelta(days=29))
        large = rk.RequestQuery(since=NOW - timedelta(days=30), until=NOW - timedelta(days=25))
        sink = Path(tempfile.gettempdir()) / "reviewkit-bench-export.csv"
        counts: list[int] = []
        mem_small = peak_memory(lambda: counts.append(view.export(me, small, sink)))
        mem_large = peak_memory(lambda: counts.append(view.export(me, large, sink)))
        start = time.perf_counter()  # timed apart: tracemalloc slows what it watches
        view.export(me, large, sink)
        export_s = time.perf_counter() - start
        sink.unlink(missing_ok=True)
        note = f"peak {mem_large / 1024:.0f} KiB (n={counts[0]:,}: {mem_small / 1024:.0f} KiB)"
        rows.append(Row("view export", "CSV, neutralised", counts[1], export_s, None, note))
    return rows


def run(n: int, repeat: int) -> list[Row]:
    """*repeat* rounds, each case once per round (interleaved, so a slow spell of the
    machine hits every case); the table shows medians, the notes the ratios' spread."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "orders.csv"
        bad = write_csv(source, n)
        base_n = 10_000
        bad_base = write_csv(folder / "base.csv", base_n)
        cores = min(os.cpu_count() or 1, 4)
        times: dict[str, list[float]] = {}
        for _ in range(max(1, repeat)):
            round_times = {
                "floor": floor_import(source, folder / "floor.sqlite3"),
                "serial": library_import(source, folder / "serial.sqlite3", 1, bad)[0],
                "parallel": library_import(source, folder / "lib.sqlite3", cores, bad)[0],
                "base": library_import(folder / "base.csv", folder / "b.sqlite3", 1, bad_base)[0],
                "floor base": floor_import(folder / "base.csv", folder / "fb.sqlite3"),
            }
            try:
                took, kept = pandas_import(source, folder / "pandas.sqlite3")
                assert kept == n - bad, (kept, n - bad)
                round_times["pandas"] = took
            except ImportError:  # pandas is in the bench extra
                pass
            for case, took in round_times.items():
                times.setdefault(case, []).append(took)
        median = {case: statistics.median(values) for case, values in times.items()}

        def spread(ours: str, theirs: str) -> str:
            ratios = sorted(t / o for o, t in zip(times[ours], times[theirs], strict=True))
            return f"ratio min {ratios[0]:.2f}, max {ratios[-1]:.2f} over {len(ratios)} rounds"

        floor, serial, parallel = median["floor"], median["serial"], median["parallel"]

        def growth(large: str, small: str) -> list[float]:
            """Per-row cost at n rows over that at base_n rows, per round, sorted."""
            pairs = zip(times[large], times[small], strict=True)
            return sorted((big / n) / (little / base_n) for big, little in pairs)

        linear, floor_linear = growth("serial", "base"), growth("floor", "floor base")
        contestant = median.get("pandas")
        # Both above a transaction's rows where the size allows, so transactions do not decide.
        small = min(max(n // 8, 2_000), 40_000)
        bad_small = write_csv(folder / "small.csv", small)
        bad_medium = write_csv(folder / "medium.csv", small * 3)
        mem_small = peak_memory(
            lambda: library_import(folder / "small.csv", folder / "m1.sqlite3", 1, bad_small)
        )
        mem_medium = peak_memory(
            lambda: library_import(folder / "medium.csv", folder / "m2.sqlite3", 1, bad_medium)
        )
        rows = [
            Row("csv import", "floor: csv.reader + executemany", n, floor),
            Row(
                "csv import",
                "reviewkit import_csv, 1 process",
                n,
                serial,
                floor,
                f"per-row cost {linear[len(linear) // 2]:.2f}x that at {base_n:,} rows "
                f"(min {linear[0]:.2f}, max {linear[-1]:.2f}; goal <= 1.15x); the floor's "
                f"{floor_linear[len(floor_linear) // 2]:.2f}x",
            ),
            # peak memory is the main process's (tracemalloc), with 1 process
            Row(
                "csv import",
                "reviewkit import_csv, all cores",
                n,
                parallel,
                floor,
                f"{cores} processes; goal >= 0.50x ({spread('parallel', 'floor')}); peak "
                f"{mem_medium / 1024:.0f} KiB at {small * 3:,} rows, "
                f"{mem_small / 1024:.0f} KiB at {small:,}",
            ),
        ]
        if contestant is not None:
            rows += [
                Row("csv import", "pandas + email-validator + phonenumbers + to_sql", n,
                    contestant, floor, "the same checks, one process"),
                Row("csv import", "reviewkit all cores vs that pandas pipeline", n, parallel,
                    contestant, f"goal > 1x ({spread('parallel', 'pandas')})"),
            ]  # fmt: skip
        rows += query_rows(folder / "lib.sqlite3", n)
    return rows
