"""DKIM signatures: messages sent through a real SMTP server on 127.0.0.1 arrive signed, and
the signature verifies against the public key as a receiver would look it up in DNS; a
changed body or a domain without a key does not verify."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import reviewkit as rk
from reviewkit.adapters.accounts import SenderAccount
from reviewkit.adapters.dkim import DkimKey, DkimSigner
from reviewkit.adapters.smtp import SMTPTransport
from tests.smtp_server import smtp_server

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def key_pair() -> tuple[str, bytes]:
    """A 2048-bit RSA key: the private PEM and the DNS TXT record of its public half."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode("ascii")
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def _message(**changes: object) -> rk.OutgoingMessage:
    fields: dict[str, object] = {
        "message_id": "0123456789abcdef0123456789abcdef.c1",
        "channel": rk.Channel.EMAIL,
        "sender": "Sklep <opinie@sklep.example>",
        "to": "anna@example.com",
        "subject": "Jak oceniasz zamówienie?",
        "text": "Dzień dobry,\nprosimy o opinię.\n",
        "html": "<p>Dzień dobry</p>",
        "created_at": NOW,
        "campaign_id": "c1",
        "headers": {
            "List-Unsubscribe": "<https://sklep.example/u/t>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    }
    fields.update(changes)
    return rk.OutgoingMessage(**fields)  # type: ignore[arg-type]


def _dns(record: bytes, expected: str = "rk1._domainkey.sklep.example.") -> object:
    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name.decode() == expected else None

    return lookup


def test_a_message_sent_over_smtp_arrives_signed_and_verifies(key_pair: tuple[str, bytes]) -> None:
    """Through aiosmtpd: the received bytes carry a DKIM-Signature for d=sklep.example that
    verifies, covering From, Subject and the one-click unsubscribe headers."""
    pem, record = key_pair
    signer = DkimSigner([DkimKey(domain="Sklep.Example", selector="rk1", private_key=pem)])
    with smtp_server() as (handler, port):
        account = SenderAccount(
            name="main", host="127.0.0.1", port=port, security="none",
            from_address="opinie@sklep.example", from_name="Sklep",
        )  # fmt: skip
        transport = SMTPTransport([account], hooks=[signer])
        transport.send(_message(sender="main"))
        transport.close()
        (_, _, raw) = handler.messages[0]
    assert raw.startswith(b"DKIM-Signature: ")
    header = raw.split(b"\r\n\r\n", 1)[0].decode()
    assert "d=sklep.example" in header
    assert "s=rk1" in header
    signed = header.split("h=", 1)[1].split(";", 1)[0].replace("\r\n", "").replace(" ", "")
    for name in ("from", "subject", "list-unsubscribe", "list-unsubscribe-post", "message-id"):
        assert name in signed.lower().split(":"), name
    assert dkim.verify(raw, dnsfunc=_dns(record))


def test_a_changed_message_no_longer_verifies(key_pair: tuple[str, bytes]) -> None:
    """A body or subject changed on the way fails verification."""
    pem, record = key_pair
    signer = DkimSigner([DkimKey(domain="sklep.example", selector="rk1", private_key=pem)])
    from reviewkit.adapters.mime import build_email_bytes

    message = _message()
    raw = signer(build_email_bytes(message), message)
    assert dkim.verify(raw, dnsfunc=_dns(record))
    assert not dkim.verify(raw.replace(b"prosimy", b"PROSIMY"), dnsfunc=_dns(record))
    assert not dkim.verify(raw.replace(b"Subject: ", b"Subject: FREE "), dnsfunc=_dns(record))


def test_a_domain_without_a_key_goes_out_unsigned(key_pair: tuple[str, bytes]) -> None:
    """From another domain: the bytes are unchanged."""
    pem, _ = key_pair
    signer = DkimSigner([DkimKey(domain="sklep.example", selector="rk1", private_key=pem)])
    from reviewkit.adapters.mime import build_email_bytes

    message = _message(sender="noreply@other.example")
    raw = build_email_bytes(message)
    assert signer(raw, message) == raw
    assert signer.signs("SKLEP.example")
    assert not signer.signs("other.example")


def test_a_bad_key_is_refused_when_the_signer_is_made(tmp_path: Path) -> None:
    """A file that is no private key, a missing file, a selector with a space: clear errors
    before the first message."""
    with pytest.raises(rk.ConfigurationError, match=r"DKIM key for sklep\.example"):
        DkimSigner([DkimKey(domain="sklep.example", selector="rk1", private_key="not a key")])
    with pytest.raises(rk.ConfigurationError, match="DKIM key"):
        DkimKey.from_file("sklep.example", "rk1", tmp_path / "missing.pem")
    with pytest.raises(rk.ValidationError, match="DKIM selector"):
        DkimKey(domain="sklep.example", selector="rk 1", private_key="x")


def test_accounts_verify_reports_the_signature(
    key_pair: tuple[str, bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`accounts verify --dkim` sends a signed test message and says it is signed; the
    message that arrives verifies; a --dkim without its three parts is one line."""
    from reviewkit.cli import main

    pem, record = key_pair
    key_file = tmp_path / "rk1.pem"
    key_file.write_text(pem, encoding="ascii")
    with smtp_server() as (handler, port):
        url = f"smtp+insecure://127.0.0.1:{port}?from=opinie@sklep.example"
        code = main(["accounts", "verify", "--smtp", url, "--to", "me@example.com",
                     "--dkim", f"sklep.example:rk1:{key_file}"])  # fmt: skip
        out = capsys.readouterr().out
        (_, _, raw) = handler.messages[0]
    assert code == 0
    assert "DKIM: signed, d=sklep.example s=rk1" in out
    assert dkim.verify(raw, dnsfunc=_dns(record))
    code = main(["accounts", "verify", "--smtp", url, "--to", "x@example.com", "--dkim", "x"])
    assert (code, "write DOMAIN:SELECTOR:KEY.pem" in capsys.readouterr().err) == (1, True)
