"""SMS: E.164 numbers, segment counting, the segment cap, and the gateway adapters."""

from __future__ import annotations

import collections
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.adapters.sms import ChannelRouter, HttpSmsTransport, SmsFileTransport
from reviewkit.domain.secret import Secret
from reviewkit.domain.sms import SmsEncoding, normalize_phone, sms_segments

D = rk.RequestStatus


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("a" * 160, SmsEncoding.GSM7, 160, 1),
        ("a" * 161, SmsEncoding.GSM7, 161, 2),
        ("a" * 306, SmsEncoding.GSM7, 306, 2),
        ("a" * 307, SmsEncoding.GSM7, 307, 3),
        ("€" * 80, SmsEncoding.GSM7, 160, 1),  # the extension table counts twice
        ("Oceń zakup", SmsEncoding.UCS2, 10, 1),  # one Polish letter switches to UCS-2
        ("ł" * 70, SmsEncoding.UCS2, 70, 1),
        ("ł" * 71, SmsEncoding.UCS2, 71, 2),
        ("ł" * 134, SmsEncoding.UCS2, 134, 2),
        ("ł" * 135, SmsEncoding.UCS2, 135, 3),
    ],
)
def test_segment_counts(text: str, encoding: SmsEncoding, units: int, segments: int) -> None:
    """GSM-7 is 160/153 per segment, UCS-2 70/67; one non-GSM character switches."""
    cost = sms_segments(text)
    assert (cost.encoding, cost.units, cost.segments) == (encoding, units, segments)


@given(st.text(max_size=500))
def test_segments_are_the_fewest_that_hold_the_text(text: str) -> None:
    """The count holds the text, and one segment fewer would not."""
    cost = sms_segments(text)
    assert cost.units <= cost.segments * cost.per_segment
    assert cost.remaining >= 0
    if cost.segments > 1:
        assert cost.units > (cost.segments - 1) * cost.per_segment


@pytest.mark.parametrize(
    "written", ["500 100 200", "+48 500-100-200", "0048500100200", "(+48) 500100200"]
)
def test_phone_numbers_normalise_to_e164(written: str) -> None:
    """However a Polish mobile number is written, it becomes +48500100200."""
    assert normalize_phone(written, "PL") == "+48500100200"


def test_bad_phone_number_says_why() -> None:
    """An unreadable or invalid number is refused with the number and the region."""
    with pytest.raises(rk.ValidationError, match=r"'12' is not a valid number for region PL"):
        normalize_phone("12", "pl")
    with pytest.raises(rk.ValidationError, match="country code"):
        normalize_phone("500100200")


def sms_campaign(
    service: rk.CampaignService,
    actor: rk.Actor,
    recipients: list[rk.Recipient] | None = None,
    **kw: object,
) -> None:
    """Create the "sms" campaign; with *recipients*, add them and schedule it."""
    settings: dict[str, object] = {
        "channel": rk.Channel.SMS,
        "sender": "SKLEP",
        "body": "{{ recipient.name }}, oceń zamówienie {{ recipient.transaction_id }}",
        "default_region": "PL",
        "start_at": service.clock.now(),
    }
    settings.update(kw)
    service.create(actor, name="sms", **settings)  # type: ignore[arg-type]
    if recipients is not None:
        service.add_recipients(actor, "sms", recipients)
        service.schedule(actor, "sms")


def test_numbers_are_normalised_and_deduplicated_on_add(
    service: rk.CampaignService, actor: rk.Actor
) -> None:
    """The same number written two ways is one request, stored in E.164."""
    sms_campaign(service, actor)
    result = service.add_recipients(
        actor, "sms", [rk.Recipient(phone="500 100 200"), rk.Recipient(phone="+48500100200")]
    )
    assert result == rk.AddResult(added=1, duplicates=1)
    assert [d.address for d in service.requests(actor, "sms")] == ["+48500100200"]
    with pytest.raises(rk.ValidationError, match="recipient #1: phone number '999'"):
        service.add_recipients(actor, "sms", [rk.Recipient(phone="999")])


def test_preview_shows_the_segment_cost(service: rk.CampaignService, actor: rk.Actor) -> None:
    """A preview renders the text and counts its segments before anything is sent."""
    sms_campaign(service, actor)
    preview = service.preview(
        actor, "sms", rk.Recipient(phone="+48500100200", name="Łucja", transaction_id="Z1")
    )
    assert preview.message.text == "Łucja, oceń zamówienie Z1"
    assert preview.segments is not None
    assert (preview.segments.encoding, preview.segments.segments) == (SmsEncoding.UCS2, 1)


def test_segment_cap_stops_a_long_text(
    service: rk.CampaignService, actor: rk.Actor, store: rk.Store, reviewkit_clock: rk.ManualClock
) -> None:
    """A text over the campaign's segment cap is not sent; the request says how long it was."""
    sms_campaign(
        service,
        actor,
        [
            rk.Recipient(phone="500100200", name="Ala", transaction_id="1"),
            rk.Recipient(phone="500100201", name="Ą" * 80, transaction_id="2"),
        ],
        max_sms_segments=1,
    )
    transport = rk.InMemoryTransport()
    report = rk.Dispatcher(store, transport, reviewkit_clock).run()
    assert (report.sent, report.failed) == (1, 1)
    (failed,) = service.requests(actor, "sms", {D.FAILED})
    assert "2 SMS segments (UCS-2" in (failed.last_error or "")


class Gateway:
    """A tiny SMS gateway on 127.0.0.1 recording requests; replies as scripted."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, object]]] = []
        self.replies: collections.deque[int] = collections.deque()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gateway.requests.append((dict(self.headers), body))
                status = gateway.replies.popleft() if gateway.replies else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b'{"ok": true}' if status == 200 else b'{"error": "no"}')

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    running = Gateway()
    running.thread.start()
    yield running
    running.server.shutdown()
    running.server.server_close()


def test_http_gateway_posts_json_with_auth_and_idempotency_key(
    gateway: Gateway,
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """Each SMS is one JSON POST; a 503 is retried with the same idempotency key."""
    sms_campaign(service, actor, [rk.Recipient(phone="500100200", name="Ala", transaction_id="7")])
    gateway.replies.append(503)
    transport = HttpSmsTransport(gateway.url, headers={"Authorization": Secret("Bearer t0ken")})
    assert "t0ken" not in repr(transport)
    report = rk.Dispatcher(store, transport, reviewkit_clock).run()
    assert (report.sent, report.retried) == (1, 1)
    (first_headers, first), (second_headers, second) = gateway.requests
    assert second == {
        "to": "+48500100200",
        "from": "SKLEP",
        "text": "Ala, oceń zamówienie 7",
        "reference": first["reference"],
    }
    assert second_headers["Authorization"] == "Bearer t0ken"
    assert first_headers["Idempotency-Key"] == second_headers["Idempotency-Key"]


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, rk.PermanentSendError),
        (401, rk.AccountError),
        (429, rk.TransientSendError),
        (502, rk.TransientSendError),
    ],
)
def test_http_gateway_status_mapping(gateway: Gateway, status: int, kind: type[Exception]) -> None:
    """Gateway replies map to permanent, account and transient failures."""
    from datetime import UTC, datetime

    gateway.replies.append(status)
    message = rk.OutgoingMessage(
        message_id="m",
        channel=rk.Channel.SMS,
        sender="S",
        to="+48500100200",
        subject="",
        text="t",
        created_at=datetime.now(UTC),
        campaign_id="c",
    )
    with pytest.raises(kind, match=str(status)):
        HttpSmsTransport(gateway.url).send(message)


def test_file_transport_and_router(
    tmp_path: Path,
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """The router sends SMS to the SMS outbox file, with the segment count on each line."""
    sms_campaign(service, actor, [rk.Recipient(phone="500100200", name="Ala", transaction_id="1")])
    outbox = tmp_path / "sms.jsonl"
    router = ChannelRouter(email=rk.InMemoryTransport(), sms=SmsFileTransport(outbox))
    rk.Dispatcher(store, router, reviewkit_clock).run()
    (line,) = outbox.read_text(encoding="utf-8").splitlines()
    record = json.loads(line)
    assert (record["to"], record["segments"], record["encoding"]) == ("+48500100200", 1, "UCS-2")
    with pytest.raises(rk.PermanentSendError, match="SMS only"):
        SmsFileTransport(outbox).send(
            rk.OutgoingMessage(
                message_id="m",
                channel=rk.Channel.EMAIL,
                sender=None,
                to="a@example.com",
                subject="s",
                text="t",
                created_at=reviewkit_clock.now(),
                campaign_id="c",
            )
        )


REGIONS = ["PL", "CZ", "ES", "IT", "DE", "FR", "GB", "US", "UA", "SE", "IN", "BR", "JP", "SK", "PT"]


@st.composite
def _spelled_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """A number as people type them: digit groups with spaces, dashes, dots or slashes,
    with or without a + and calling code, of a country with or without a trunk prefix."""
    import phonenumbers
    from phonenumbers.phonenumberutil import country_code_for_region

    region = draw(st.sampled_from(REGIONS))
    calling = draw(st.sampled_from([*REGIONS, "PL"])) if draw(st.booleans()) else None
    digits = draw(st.text(alphabet="0123456789", min_size=4, max_size=13))
    if draw(st.booleans()):
        # A real number of the country (mostly valid), its last digits changed.
        kind = draw(st.sampled_from([phonenumbers.PhoneNumberType.MOBILE,
                                     phonenumbers.PhoneNumberType.FIXED_LINE,
                                     phonenumbers.PhoneNumberType.TOLL_FREE]))  # fmt: skip
        example = phonenumbers.example_number_for_type(calling or region, kind)
        if example is not None:
            national = phonenumbers.national_significant_number(example)
            keep = draw(st.integers(0, len(national)))
            digits = national[:keep] + draw(
                st.text(alphabet="0123456789", min_size=len(national) - keep,
                        max_size=len(national) - keep)
            )  # fmt: skip
    if calling is not None:
        digits = f"+{country_code_for_region(calling)}{digits}"
    groups, rest = [], digits
    while rest:
        size = draw(st.integers(1, 4))
        groups.append(rest[:size])
        rest = rest[size:]
    separators = draw(st.lists(st.sampled_from([" ", "-", ".", "/", ""]), min_size=len(groups)))
    text = "".join(g + s for g, s in zip(groups, separators, strict=False)).rstrip(" -./")
    return text, region


@given(_spelled_numbers(), st.booleans())
@settings(max_examples=3000)
def test_the_fast_path_reads_numbers_as_the_phone_library_does(
    spelled: tuple[str, str], mobile: bool
) -> None:
    """Where the fast path answers, the phonenumbers library gives the same E.164 number
    (and the same mobile verdict); elsewhere the library answers alone."""
    from reviewkit.domain.sms import _fast_e164, _library_e164

    text, region = spelled
    fast = _fast_e164(text, region, mobile)
    if fast is not None:
        assert _library_e164(text, region, mobile) == fast


@pytest.mark.parametrize(
    ("text", "region"),
    [("501 234 567", "PL"), ("501-234-567", "PL"), ("+48 501 234 567", None),
     ("+48501234567", "DE"), ("22 123 45 67", "PL"), ("601 123 456", "CZ")],
)  # fmt: skip
def test_common_spellings_take_the_fast_path(text: str, region: str | None) -> None:
    """The plain spellings of a customer file do not need the full parser."""
    from reviewkit.domain.sms import _fast_e164, _library_e164

    assert _fast_e164(text, region, False) == _library_e164(text, region, False)
