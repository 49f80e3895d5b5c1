"""Signed link tokens and one-click unsubscribe (RFC 8058)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.adapters.mime import build_email_bytes

from .conftest import make_campaign

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
KEY = "k" * 32
signer = rk.LinkSigner({"k2026": KEY})
U = rk.TokenPurpose.UNSUBSCRIBE


def test_round_trip_with_extra_value() -> None:
    """A token says what it was signed with."""
    token = signer.sign(rk.TokenPurpose.ANSWER, "d1", now=NOW, extra="9")
    found = signer.verify(token, purpose=rk.TokenPurpose.ANSWER, now=NOW)
    assert (found.request_id, found.extra) == ("d1", "9")
    assert found.expires_at == NOW + timedelta(days=60)


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda t: t[:-2] + ("A" if t[-2] != "A" else "B") + t[-1], "tampered"),
        (lambda t: "x" + t, "tampered|malformed"),
        (lambda t: "garbage", "malformed"),
    ],
)
def test_tampered_or_malformed_tokens_are_refused(mangle: object, reason: str) -> None:
    """Changing any character is detected."""
    token = signer.sign(U, "d1", now=NOW)
    with pytest.raises(rk.TokenError, match=reason):
        signer.verify(mangle(token), purpose=U, now=NOW)  # type: ignore[operator]


def test_expired_and_wrong_purpose_are_refused() -> None:
    """A token is refused after its expiry and for another purpose."""
    token = signer.sign(U, "d1", now=NOW, ttl=timedelta(hours=1))
    with pytest.raises(rk.TokenError, match="expired"):
        signer.verify(token, purpose=U, now=NOW + timedelta(hours=1))
    with pytest.raises(rk.TokenError, match="wrong purpose"):
        signer.verify(token, purpose=rk.TokenPurpose.ANSWER, now=NOW)


def test_key_rotation() -> None:
    """New keys sign; old keys still verify until removed; unknown keys are refused."""
    old = signer.sign(U, "d1", now=NOW)
    rotated = rk.LinkSigner({"k2027": "n" * 32, "k2026": KEY}, current="k2027")
    assert rotated.verify(old, purpose=U, now=NOW).request_id == "d1"
    new = rotated.sign(U, "d2", now=NOW)
    with pytest.raises(rk.TokenError, match="unknown key"):
        signer.verify(new, purpose=U, now=NOW)


def test_weak_keys_are_refused() -> None:
    """A short key is refused when the signer is built, and no secret shows in its repr."""
    with pytest.raises(rk.ValidationError, match="too short"):
        rk.LinkSigner({"k": "short"})
    assert KEY not in repr(signer)


@given(st.text(max_size=80))
def test_arbitrary_input_never_verifies_or_crashes(text: str) -> None:
    """Random strings are refused with TokenError, never accepted, never another exception."""
    with pytest.raises(rk.TokenError):
        signer.verify(text, purpose=U, now=NOW)


def test_messages_carry_one_click_unsubscribe_and_it_works_once(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_clock: rk.ManualClock,
    reviewkit_transport: rk.InMemoryTransport,
) -> None:
    """Each e-mail has List-Unsubscribe + One-Click; the link unsubscribes, idempotently."""
    make_campaign(
        service,
        actor,
        recipients=2,
        interval=timedelta(0),
        unsubscribe_url="https://shop.example/unsubscribe?t={token}",
        body="Hi. Unsubscribe: {{ links.unsubscribe }}",
    )
    rk.Dispatcher(store, reviewkit_transport, reviewkit_clock, links=signer).run()
    first = reviewkit_transport.sent[0]
    parsed = BytesParser(policy=policy.default).parsebytes(build_email_bytes(first))
    header = parsed["List-Unsubscribe"]
    assert header.startswith("<https://shop.example/unsubscribe?t=")
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = header.strip("<>")
    assert url in first.text
    token = url.split("t=", 1)[1]
    suppressions = rk.SuppressionService(store, reviewkit_clock)
    done = suppressions.unsubscribe(token, signer)
    assert done.address == first.to
    assert suppressions.unsubscribe(token, signer) == done  # idempotent
    with pytest.raises(rk.TokenError):
        suppressions.unsubscribe(token[:-1] + "x", signer)


def test_a_dispatcher_without_link_keys_is_a_configuration_error(
    service: rk.CampaignService,
    actor: rk.Actor,
    dispatcher: rk.Dispatcher,
    reviewkit_transport: rk.InMemoryTransport,
) -> None:
    """A campaign with an unsubscribe URL and a dispatcher without a LinkSigner: the worker
    stops before claiming anything, and the campaign is not blamed."""
    make_campaign(service, actor, unsubscribe_url="https://shop.example/u/{token}")
    with pytest.raises(rk.ConfigurationError, match="no LinkSigner"):
        dispatcher.run()
    campaign = service.get(actor, "reviews")
    assert campaign.status in (rk.CampaignStatus.SCHEDULED, rk.CampaignStatus.SENDING)
    assert campaign.failure_reason is None
    assert reviewkit_transport.sent == []
    assert service.counts(actor, "reviews")[rk.RequestStatus.PENDING] == 3


@pytest.mark.parametrize(
    "url", ["ftp://x/{token}", "https://shop.example/u", "https://a b/{token}"]
)
def test_bad_unsubscribe_urls_are_refused(url: str) -> None:
    """An unsubscribe URL must be http(s), hold {token}, and have no spaces."""
    with pytest.raises(rk.ValidationError, match="unsubscribe URL"):
        rk.Campaign(name="c", unsubscribe_url=url)


def test_compact_tokens_for_reviewkit_ids_are_short_and_checked_the_same() -> None:
    """A request's own id (32 hex digits) gets a compact token that fits an SMS; it is
    refused for the same reasons as the long form."""
    request_id = "0f57fb8f24be4de3ad81513396473c66"
    token = signer.sign(rk.TokenPurpose.ANSWER, request_id, now=NOW, extra="10")
    assert len(token) <= 64
    assert "." not in token
    found = signer.verify(token, purpose=rk.TokenPurpose.ANSWER, now=NOW)
    assert (found.request_id, found.extra) == (request_id, "10")
    rotated = rk.LinkSigner({"k2027": "n" * 32, "k2026": KEY}, current="k2027")
    assert rotated.verify(token, purpose=rk.TokenPurpose.ANSWER, now=NOW).extra == "10"
    with pytest.raises(rk.TokenError, match="unknown key"):
        rk.LinkSigner({"k2027": "n" * 32}).verify(token, purpose=rk.TokenPurpose.ANSWER, now=NOW)
    with pytest.raises(rk.TokenError, match="wrong purpose"):
        signer.verify(token, purpose=U, now=NOW)
    with pytest.raises(rk.TokenError, match="expired"):
        signer.verify(token, purpose=rk.TokenPurpose.ANSWER, now=NOW + timedelta(days=61))
    for position in range(len(token)):
        changed = (
            token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]
        )
        with pytest.raises(rk.TokenError):
            signer.verify(changed, purpose=rk.TokenPurpose.ANSWER, now=NOW)
