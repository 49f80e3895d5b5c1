"""Importing recipients from CSV files as spreadsheets really export them (bulk
request, also for old orders).

- Encoding: a UTF-8 BOM, UTF-8, or the legacy Windows code page (cp1250) when the bytes are
  not UTF-8 — or whatever ``encoding`` says. Delimiter: comma, semicolon or tab, sniffed
  from the first lines, or given. Quoted fields may hold line breaks.
- Columns are mapped from their header names (English and Polish); anything unknown becomes
  a custom field (``recipient.fields``).
- Every row is checked: e-mail syntax (no DNS), phone numbers to E.164 with a default
  region, and custom fields typed ``pesel``, ``nip`` or ``regon`` by checksum.
- The result accounts for every row: accepted + rejected + duplicates = rows read. Rejected
  rows can be written to an errors CSV (the original columns plus ``error``) that can be
  fixed and imported again.
- Rows are added in transactions of up to 10,000 rows (or what was checked in a second),
  each atomic; memory does not grow with the file.
"""

from __future__ import annotations

import codecs
import csv
import ctypes
import difflib
import functools
import io
import itertools
import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypeVar, cast

import attrs

from reviewkit.domain.campaign import Campaign, Channel
from reviewkit.domain.collection import neutralize_cell, restore_cell
from reviewkit.domain.consent import Consent, parse_yes_no
from reviewkit.domain.contacts import normalize_email
from reviewkit.domain.identifiers import check_nip, check_pesel, check_regon
from reviewkit.domain.instants import as_utc
from reviewkit.domain.messages import required_recipient_fields
from reviewkit.domain.permissions import Actor
from reviewkit.domain.request import Recipient
from reviewkit.domain.sms import normalize_phone
from reviewkit.domain.window import load_zone
from reviewkit.errors import NotFoundError, ValidationError
from reviewkit.services.campaigns import AddResult, CampaignService, RequestRows

__all__ = ["HEADER_NAMES", "ImportProgress", "ImportResult", "RowError", "check_date", "import_csv"]

HEADER_NAMES: Mapping[str, str] = {
    **dict.fromkeys(["email", "e-mail", "mail", "adres e-mail", "adres email"], "email"),
    **dict.fromkeys(
        ["phone", "telefon", "tel", "mobile", "numer telefonu", "nr telefonu"], "phone"
    ),
    **dict.fromkeys(
        [
            "transaction",
            "transaction_id",
            "transaction id",
            "order",
            "order_id",
            "order id",
            "zamówienie",
            "nr zamówienia",
            "numer zamówienia",
            "id transakcji",
        ],
        "transaction_id",
    ),
    **dict.fromkeys(["name", "imię", "imie", "imię i nazwisko", "customer", "klient"], "name"),
    **dict.fromkeys(["timezone", "time zone", "strefa czasowa"], "timezone"),
    **dict.fromkeys(["segment", "customer segment", "segment klienta", "grupa"], "segment"),
    **dict.fromkeys(["chat_id", "chat id", "psid", "messenger id"], "chat_id"),
    **dict.fromkeys(
        [
            "publication consent",
            "publication_consent",
            "consent",
            "zgoda na publikację",
            "zgoda na publikacje",
            "zgoda na publikację opinii",
        ],
        "consent:publication",
    ),
}
"""Header names (case-insensitive) that map to recipient attributes; others become fields.

A column named ``consent:NAME`` or ``zgoda:NAME`` is the consent *NAME*: ``yes``/``tak``/
``1``/``true``/``x`` grants it, ``no``/``nie``/``0``/``false`` refuses it, empty leaves it
unknown. Consents imported this way record the file as their source.
"""

_CONSENT_PREFIXES = ("consent:", "zgoda:")


def check_date(text: str) -> str:
    """Return a date written ``2026-11-23``, ``23.11.2026``, ``23/11/2026`` or
    ``23-11-2026`` as ISO ``2026-11-23``.

    :raises ValidationError: for anything else, or a day that does not exist.
    """
    value = text.strip()
    for pattern in ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d"):
        try:
            return datetime.strptime(value, pattern).date().isoformat()  # noqa: DTZ007 - a date
        except ValueError:
            continue
    raise ValidationError(f"{value!r} is not a date (write 2026-11-23 or 23.11.2026)")


_ADDRESS_COLUMNS: Mapping[Channel, str] = {
    Channel.EMAIL: "email",
    Channel.SMS: "phone",
    Channel.CHAT: "chat_id",
}
"""The column a request's address comes from, per channel."""

_CHECKS: Mapping[str, Callable[[str], str]] = {
    "pesel": check_pesel,
    "nip": check_nip,
    "regon": check_regon,
    "date": check_date,
}
_ERROR_COLUMN = "error"
_T = TypeVar("_T")
_BATCH = 1_000  # rows checked together (and the progress callback's step)
# A transaction holds up to this many rows, or the rows checked in this many seconds: a
# commit per 1,000 rows writes every index page a batch touched, and spent more time than
# the inserts themselves on a large table; an interrupted import loses at most this much,
# which importing the file again adds.
_TRANSACTION_ROWS = 10_000
_TRANSACTION_SECONDS = 1.0


@attrs.frozen
class RowError:
    """Why one row was not imported. ``row`` is the spreadsheet row (the header is row 1)."""

    row: int
    column: str | None
    reason: str


@attrs.frozen
class ImportProgress:
    """How far an import is: rows read, and bytes read of the file's size (``None`` when the
    source is a stream of unknown length)."""

    rows: int
    bytes_read: int
    total_bytes: int | None

    @property
    def fraction(self) -> float | None:
        """Share of the file read, 0.0 to 1.0, when the size is known."""
        if not self.total_bytes:
            return None
        return min(self.bytes_read / self.total_bytes, 1.0)


@attrs.frozen
class ImportResult:
    """What an import did; ``accepted + rejected + duplicates == rows``."""

    rows: int
    accepted: int
    rejected: int
    duplicates: int
    errors: tuple[RowError, ...]
    """The first 1,000 rejections (all of them are in the errors CSV)."""


def _detect_encoding(head: bytes) -> str:
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    # UTF-32 first: its little-endian mark begins with UTF-16's. The codecs read the mark.
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            return "cp1250"
    return "utf-8"


def _detect_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        counts = {d: sample.split("\n", 1)[0].count(d) for d in ",;\t"}
        return max(counts, key=lambda d: counts[d])


def _open_text(
    source: str | os.PathLike[str] | IO[bytes], encoding: str | None
) -> io.TextIOWrapper:
    raw = open(source, "rb") if isinstance(source, (str, os.PathLike)) else source  # noqa: SIM115
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[type-var]
    head = buffered.peek(65_536)[:65_536]
    chosen = encoding or _detect_encoding(head)
    return io.TextIOWrapper(buffered, encoding=chosen, newline="")


def import_csv(
    service: CampaignService,
    actor: Actor,
    campaign: str,
    source: str | os.PathLike[str] | IO[bytes],
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    default_region: str | None = None,
    field_types: Mapping[str, str] | None = None,
    required: tuple[str, ...] = (),
    errors_to: str | os.PathLike[str] | None = None,
    progress: Callable[[ImportProgress], None] | None = None,
    workers: int | None = None,
    create: bool = False,
) -> ImportResult:
    """Import recipients from a CSV file into *campaign*.

    :param field_types: custom column → ``"pesel"``, ``"nip"``, ``"regon"`` or ``"date"``.
    :param required: columns (mapped names or custom fields) that must not be empty.
    :param errors_to: write rejected rows here, with an ``error`` column, for fixing.
    :param progress: called every 1,000 rows, and at the end, with an :class:`ImportProgress`.
    :param workers: processes to check rows in; by default every core (up to 4) for a file
        of 4 MiB or more, one otherwise. Rows are stored in file order either way.
    :param create: create *campaign* as a draft when there is none of that name; without
        it a name that matches no campaign (a typo) is an error.
    :raises NotFoundError: no such campaign and *create* is false; the message names
        campaigns with a similar name.
    :raises ValidationError: for an unreadable file or header. Nothing is imported then,
        and a campaign this call created is removed again.
    """
    created = False
    try:
        existing = service.get(actor, campaign)
    except NotFoundError:
        if not create:
            raise _no_campaign(service, actor, campaign) from None
        existing, created = service.create(actor, name=campaign), True
    try:
        return _import_into(service, actor, existing, source, encoding, delimiter,
                            default_region, field_types, required, errors_to, progress,
                            workers)  # fmt: skip
    except BaseException:
        if created and not sum(service.counts(actor, existing.id).values()):
            service.store.delete_campaign(existing.id)  # nothing was stored: undo it all
        raise


def _no_campaign(service: CampaignService, actor: Actor, name: str) -> NotFoundError:
    names = [c.name for c in service.list(actor)]
    alike = [n for n in names if n.casefold() == name.casefold()]
    alike += difflib.get_close_matches(name, [n for n in names if n not in alike], n=3)
    hint = f"; did you mean {' or '.join(map(repr, alike))}?" if alike else "."
    return NotFoundError(
        f"no campaign {name!r}{hint} To create it as a draft, import with create=True "
        "(reviewkit import --create)"
    )


def _import_into(
    service: CampaignService,
    actor: Actor,
    existing: Campaign,
    source: str | os.PathLike[str] | IO[bytes],
    encoding: str | None,
    delimiter: str | None,
    default_region: str | None,
    field_types: Mapping[str, str] | None,
    required: tuple[str, ...],
    errors_to: str | os.PathLike[str] | None,
    progress: Callable[[ImportProgress], None] | None,
    workers: int | None,
) -> ImportResult:
    # Permission, status and sender are checked once, before a row is read.
    target = service.open_for_adding(actor, existing.name)
    types = {k.lower(): v.lower() for k, v in (field_types or {}).items()}
    for column, kind in types.items():
        if kind not in _CHECKS:
            raise ValidationError(
                f"field type {kind!r} for {column!r}: use pesel, nip, regon or date"
            )
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ValidationError(
                f"unknown encoding {encoding!r}: use e.g. utf-8, cp1250 or iso-8859-2"
            ) from None
    if delimiter is not None and len(delimiter) != 1:
        raise ValidationError(f"delimiter {delimiter!r} must be one character, e.g. ; or ,")
    label = source if isinstance(source, (str, os.PathLike)) else getattr(source, "name", "")
    rules = _RowRules(
        target.channel,
        default_region or target.default_region,
        types,
        # Fields the templates read must be in every row, or its message cannot be rendered.
        (*required, *sorted(required_recipient_fields(target) - set(required))),
        f"import {Path(label).name}" if label else "import",
        as_utc(service.clock.now()),
        service.checked_rows(target),
    )

    text = _open_text(source, encoding)
    try:
        return _import_rows(service, target, rules, text, delimiter, errors_to, progress, workers)
    finally:
        text.close()


def _import_rows(
    service: CampaignService,
    target: Campaign,
    rules: _RowRules,
    text: io.TextIOWrapper,
    delimiter: str | None,
    errors_to: str | os.PathLike[str] | None,
    progress: Callable[[ImportProgress], None] | None,
    workers: int | None,
) -> ImportResult:
    start = text.tell() if text.seekable() else None  # a stream may be given part-read
    try:
        sample = text.read(65_536)
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"the file is not {text.encoding}: {exc}; give the right --encoding"
        ) from exc
    if start is not None:  # read the sample again, with no generator between file and parser
        text.seek(start)
        lines: Iterator[str] = text
    else:
        lines = _chain(sample, text)
    reader = csv.reader(lines, delimiter=delimiter or _detect_delimiter(sample))
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationError("the CSV file is empty: it needs a header row") from None
    names = [h.strip().lstrip("\ufeff") for h in header]
    keys = [HEADER_NAMES.get(n.lower(), n) for n in names]
    # Errors name the column as the file's header does, so it can be found in the sheet.
    header_of = dict(zip(keys, names, strict=True))
    absent = [c for c in required_recipient_fields(target) if c not in keys]
    if absent:
        raise ValidationError(
            f"the campaign's templates read recipient.fields.{absent[0]}, but the file has no "
            f"{absent[0]!r} column (columns: {names})"
        )
    typed_absent = sorted(set(rules.types) - {k.lower() for k in keys})
    if typed_absent:
        raise ValidationError(
            f"a field type is given for {typed_absent[0]!r}, but the file has no such column "
            f"(columns: {names})"
        )
    address_column = _ADDRESS_COLUMNS[rules.channel]
    if address_column not in keys:
        raise ValidationError(
            f"no {rules.channel.value} address column among {names}: name one {address_column!r}"
        )

    errors_file = None
    writer = None
    if errors_to is not None:
        errors_file = Path(errors_to).open("w", encoding="utf-8", newline="")  # noqa: SIM115 - closed in finally below
        writer = csv.writer(errors_file)
        writer.writerow([*[n for n in names if n.lower() != _ERROR_COLUMN], _ERROR_COLUMN])

    rows = accepted = duplicates = rejected = 0
    kept: list[RowError] = []
    size = _file_size(text)  # once: it does not change while the file is read
    pool = _checking_pool(workers, size)
    if pool is None:
        # Checked here, rows are better made by the writing thread (it overlaps with the
        # checking); prepared rows pay where other processes check.
        rules = attrs.evolve(rules, rows=None)
    # Batches are stored by one writer thread while the next ones are read and checked:
    # SQLite works without holding the interpreter lock, so the two overlap.
    storing = ThreadPoolExecutor(1, thread_name_prefix="reviewkit-import")
    written: deque[Future[AddResult]] = deque()

    def collect(keep: int) -> None:
        nonlocal accepted, duplicates
        while len(written) > keep:
            result = written.popleft().result()
            accepted += result.added
            duplicates += result.duplicates

    batch: list[tuple[object, ...]] = []
    opened = time.monotonic()  # when the first row of the transaction being filled came

    def store(batch: list[tuple[object, ...]]) -> None:
        # Rows were checked one by one; the service stores them without re-checking.
        if rules.rows is not None:
            written.append(storing.submit(service.add_checked_rows, batch))
        else:
            pairs = cast("list[tuple[Recipient, str]]", batch)
            written.append(storing.submit(service.add_checked, target, pairs))
        collect(keep=1)

    try:
        for chunk in _checked_chunks(pool, rules, keys, _records(reader)):
            if not batch:
                opened = time.monotonic()
            for line_number, checked, values in chunk:
                rows += 1
                if not isinstance(checked, _Rejected):
                    batch.append(checked)
                    continue
                rejected += 1
                column = header_of.get(checked.column, checked.column) if checked.column else None
                if len(kept) < 1_000:
                    kept.append(RowError(line_number, column, checked.reason))
                if writer is not None:
                    # The row as it was, one cell per column (a short row padded; the values
                    # of a long row past the last column are quoted in the reason), made
                    # safe for a spreadsheet like an export.
                    original = [
                        neutralize_cell(v)
                        for n, v in itertools.zip_longest(names, values[: len(names)], fillvalue="")
                        if n.lower() != _ERROR_COLUMN
                    ]
                    where = f"row {line_number}, {column}" if column else f"row {line_number}"
                    writer.writerow([*original, neutralize_cell(f"{where}: {checked.reason}")])
            if len(batch) >= _TRANSACTION_ROWS or (
                batch and time.monotonic() - opened >= _TRANSACTION_SECONDS
            ):
                store(batch)
                batch = []
            if progress is not None:
                progress(ImportProgress(rows, _position(text), size))
        if batch:
            store(batch)
        collect(keep=0)
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"row {rows + 2}: the file is not {text.encoding}: {exc}; give the right --encoding"
        ) from exc
    finally:
        storing.shutdown(wait=True)  # a batch being stored is finished, never cut in half
        if pool is not None:
            pool[0].shutdown(wait=True, cancel_futures=True)
        if errors_file is not None:
            errors_file.close()
    if progress is not None:
        progress(ImportProgress(rows, size or _position(text), size))
    return ImportResult(rows, accepted, rejected, duplicates, tuple(kept))


@attrs.frozen
class _Rejected:
    column: str | None
    reason: str


# (row number, what the store takes — a row, or (recipient, address) — or the error, the
# row's values if it was rejected)
_Checked = tuple[int, "tuple[object, ...] | _Rejected", list[str]]
_PR_SET_PDEATHSIG = 1  # prctl(2) option: a signal for this process when its parent dies
_PARALLEL_FROM = 4 * 1024 * 1024  # bytes: smaller files are checked faster in one process


def _check_chunk(
    rules: _RowRules, keys: list[str], chunk: list[tuple[int, list[str]]]
) -> list[_Checked]:
    """Check a chunk of rows: ``(row number, the store's row or (recipient, address), or the
    error, the row's values if it was rejected)``. Runs in a worker process for large
    files."""
    out: list[_Checked] = []
    plan = rules.plan(keys)
    for line_number, values in chunk:
        try:
            out.append((line_number, rules.checked(plan, values), []))
        except _RowError as exc:
            out.append((line_number, _Rejected(exc.column, exc.reason), values))
    return out


def _checking_pool(workers: int | None, size: int | None) -> tuple[ProcessPoolExecutor, int] | None:
    """Worker processes to check rows in, or ``None`` to check them here.

    By default a file of several megabytes is checked on every core (up to 4); forked
    workers are used only where the platform forks (Linux), so a host's script needs no
    ``if __name__ == "__main__"`` guard.
    """
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if (size or 0) >= _PARALLEL_FROM else 1
    if workers < 1:
        raise ValidationError(f"workers must be at least 1, not {workers}")
    if workers == 1 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    context = multiprocessing.get_context("fork")
    executor = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_checker_start, initargs=(os.getpid(),)
    )
    return executor, workers


def _checker_start(parent: int) -> None:
    """Set up a checking process: it dies with the importing process, whatever kills that
    (a SIGKILL leaves no chance to stop it), and leaves Ctrl-C to the importing process,
    which stops the pool itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the parent's shutdown stops the pool
        pass
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def _checked_chunks(
    pool: tuple[ProcessPoolExecutor, int] | None,
    rules: _RowRules,
    keys: list[str],
    records: Iterator[list[str]],
) -> Iterator[list[_Checked]]:
    """Yield checked chunks of rows in file order, a few chunks ahead when in a pool."""
    numbered = enumerate(records, start=2)
    chunks = iter(lambda: list(itertools.islice(numbered, _BATCH)), [])
    if pool is None:
        for chunk in chunks:
            yield _check_chunk(rules, keys, chunk)
        return
    executor, workers = pool
    ahead: deque[Future[list[_Checked]]] = deque()
    for chunk in chunks:
        ahead.append(executor.submit(_check_chunk, rules, keys, chunk))
        if len(ahead) > 2 * workers:  # bounded: memory does not grow with the file
            yield ahead.popleft().result()
    while ahead:
        yield ahead.popleft().result()


def _raw(text: io.TextIOWrapper) -> Any:
    return getattr(text.buffer, "raw", text.buffer)


def _position(text: io.TextIOWrapper) -> int:
    """Bytes read from the file so far (read-ahead included)."""
    try:
        return int(_raw(text).tell())
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is both
        return 0


def _file_size(text: io.TextIOWrapper) -> int | None:
    """The file's size in bytes, or ``None`` for a stream of unknown length."""
    raw = _raw(text)
    try:
        return os.fstat(raw.fileno()).st_size
    except (OSError, ValueError, AttributeError):
        return len(raw.getbuffer()) if isinstance(raw, io.BytesIO) else None


def _chain(sample: str, rest: IO[str]) -> Iterator[str]:
    yield from io.StringIO(sample + rest.readline())
    yield from rest


class _Unreadable(list[str]):
    """A row the CSV parser refused (a cell over the field limit): it keeps its row number
    and becomes a row error; the rows after it are read on."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason

    def __reduce__(self) -> tuple[type[_Unreadable], tuple[str]]:
        return (_Unreadable, (self.reason,))


def _records(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield _Unreadable(f"the CSV parser refused this row: {exc}")
            continue
        if any(map(str.strip, values)):  # spreadsheets leave empty lines at the end
            yield values


class _RowError(Exception):
    def __init__(self, column: str | None, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


@attrs.frozen
class _RowRules:
    """How one row becomes a request: the campaign's channel and region, typed columns."""

    channel: Channel
    region: str | None
    types: Mapping[str, str]
    required: tuple[str, ...]
    source: str
    now: datetime
    # The store's rows, made where the rows are checked (so the importing process only
    # writes), when the store takes them.
    rows: RequestRows | None = None

    def plan(self, keys: list[str]) -> _RowPlan:
        """Where the columns of a file with header *keys* are (worked out once per header)."""
        return _row_plan(tuple(keys), tuple(sorted(self.types.items())), self.required)

    def checked(self, plan: _RowPlan, values: list[str]) -> tuple[object, ...]:
        """The row's request as the store will take it: its row, or ``(recipient,
        address)``.

        :raises _RowError: naming the column and the reason.
        """
        recipient, address = self.request(plan, values)
        return (recipient, address) if self.rows is None else self.rows(recipient, address)

    def request(self, plan: _RowPlan, values: list[str]) -> tuple[Recipient, str]:
        """Return the row's recipient and its checked address on the channel.

        :raises _RowError: naming the column and the reason.
        """
        if isinstance(values, _Unreadable):
            raise _RowError(None, values.reason)
        width = plan.width
        if len(values) > width:
            extra = ", ".join(repr(v) for v in values[width:][:3])
            more = ", …" if len(values) - width > 3 else ""
            raise _RowError(
                None,
                f"{len(values)} values but the header has {width} columns "
                f"(past the last column: {extra}{more}); quote a value that holds the "
                "delimiter",
            )
        # A cell a spreadsheet-safe export wrote as '+48… (or '=…) is read as it was; a short
        # row's missing cells are empty.
        cells = [restore_cell(v.strip()) for v in values]
        cells += [""] * (width - len(cells))
        for column, index in plan.required:
            if index is None or not cells[index]:
                raise _RowError(column, "is required but empty")

        def cell(index: int | None) -> str:
            return "" if index is None else cells[index]

        email = _checked("email", normalize_email, cell(plan.email))
        phone = _checked(
            "phone",
            lambda n: normalize_phone(n, self.region, mobile=self.channel is Channel.SMS),
            cell(plan.phone),
        )
        chat_id = cell(plan.chat_id) or None
        column = _ADDRESS_COLUMNS[self.channel]
        address = {"email": email, "phone": phone, "chat_id": chat_id}[column]
        if address is None:
            raise _RowError(column, f"is empty; a {self.channel.value} request needs one")
        timezone = cell(plan.timezone) or None
        if timezone is not None:
            _checked("timezone", load_zone, timezone)
        name = cell(plan.name) or None
        transaction_id = cell(plan.transaction_id) or None
        segment = cell(plan.segment) or None
        consents: dict[str, Consent] = {}
        for column, index, consent in plan.consents:
            granted = _checked(column, parse_yes_no, cells[index])
            if granted is not None:
                consents[consent] = Consent(granted=granted, at=self.now, source=self.source)
        fields: dict[str, str] = {}
        for column, index, kind in plan.fields:
            value = cells[index]
            fields[column] = (_checked(column, _CHECKS[kind], value) or value) if kind else value
        try:
            recipient = Recipient(
                email=email,
                phone=phone,
                name=name,
                transaction_id=transaction_id,
                timezone=timezone,
                segment=segment,
                chat_id=chat_id,
                consents=consents,
                fields=fields,
            )
        except ValidationError as exc:  # a line break or a NUL in a text
            culprit = next(
                (
                    column
                    for column, value in (
                        ("name", name),
                        ("transaction_id", transaction_id),
                        ("segment", segment),
                        ("timezone", timezone),
                        ("chat_id", chat_id),
                    )
                    if value and any(c in value for c in "\r\n\x00")
                ),
                None,
            )
            raise _RowError(culprit, str(exc)) from None
        return recipient, address


@attrs.frozen(kw_only=True)
class _RowPlan:
    """Where a header's columns are, worked out once per file: the index of each known
    column (``None``: the file has none), the consent columns with their consent's name, the
    other columns (custom fields) with their type, and the required columns."""

    width: int
    email: int | None
    phone: int | None
    chat_id: int | None
    timezone: int | None
    name: int | None
    transaction_id: int | None
    segment: int | None
    consents: tuple[tuple[str, int, str], ...]
    fields: tuple[tuple[str, int, str | None], ...]
    required: tuple[tuple[str, int | None], ...]


@functools.lru_cache(maxsize=16)
def _row_plan(
    keys: tuple[str, ...], types: tuple[tuple[str, str], ...], required: tuple[str, ...]
) -> _RowPlan:
    # A column named twice: its last cell counts, at the place of its first (as in a dict).
    where: dict[str, int] = {}
    for index, key in enumerate(keys):
        if key.lower() != _ERROR_COLUMN:
            where[key] = index
    known = ("email", "phone", "chat_id", "timezone", "name", "transaction_id", "segment")
    consents = tuple(
        (column, index, column.split(":", 1)[1].strip().lower())
        for column, index in where.items()
        if column.lower().startswith(_CONSENT_PREFIXES)
    )
    kinds = dict(types)
    fields = tuple(
        (column, index, kinds.get(column.lower()))
        for column, index in where.items()
        if column not in known and not column.lower().startswith(_CONSENT_PREFIXES)
    )
    return _RowPlan(
        width=len(keys),
        email=where.get("email"),
        phone=where.get("phone"),
        chat_id=where.get("chat_id"),
        timezone=where.get("timezone"),
        name=where.get("name"),
        transaction_id=where.get("transaction_id"),
        segment=where.get("segment"),
        consents=consents,
        fields=fields,
        required=tuple(
            (column, where.get(HEADER_NAMES.get(column.lower(), column))) for column in required
        ),
    )


def _checked(column: str, check: Callable[[str], _T], value: str) -> _T | None:
    """``check(value)`` for a non-empty value, its ValidationError turned into a row error."""
    if not value:
        return None
    try:
        return check(value)
    except ValidationError as exc:
        raise _RowError(column, str(exc)) from None
