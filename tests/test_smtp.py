"""SMTP against a real server on 127.0.0.1: messages arrive, faults end in the right status."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from email.parser import BytesParser, Parser
from pathlib import Path

import pytest
import trustme

import reviewkit as rk
from reviewkit.adapters.accounts import RateLimit, SenderAccount, secret_from_env
from reviewkit.adapters.smtp import (
    PASSWORD_ENV,
    AccountVerificationError,
    SMTPTransport,
    account_from_url,
    accounts_from_file,
    verify_account,
)
from reviewkit.domain.secret import Secret

from .conftest import make_campaign
from .smtp_server import PASSWORD, USER, Handler, free_port, smtp_server

D = rk.RequestStatus


def account(port: int, **overrides: object) -> SenderAccount:
    fields: dict[str, object] = {
        "name": "main",
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "username": USER,
        "password": PASSWORD,
        "from_address": "opinie@sklep.example",
        "from_name": "Sklep Żółw",
        "reply_to": "obsluga@sklep.example",
    }
    fields.update(overrides)
    return SenderAccount(**fields)  # type: ignore[arg-type]


@pytest.fixture(params=[False, True], ids=["serial", "pipelining"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[Handler, int]]:
    """A server with login; with and without PIPELINING (RFC 2920), so every behaviour
    below holds whether the commands go one by one or together."""
    with smtp_server(auth=True, pipelining=request.param) as running:
        yield running


@pytest.fixture
def transport(server: tuple[Handler, int]) -> Iterator[SMTPTransport]:
    smtp = SMTPTransport(account(server[1]))
    yield smtp
    smtp.close()


def run(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    clock: rk.ManualClock,
    transport: rk.Transport,
    recipients: int = 3,
    **kw: object,
) -> rk.DispatchReport:
    make_campaign(
        service,
        actor,
        recipients=recipients,
        interval=timedelta(0),
        sender="main",
        html="<p>Dzień dobry {{ recipient.name }}</p>",
        **kw,
    )
    return rk.Dispatcher(store, transport, clock, retry=rk.RetryPolicy(max_attempts=3)).run()


def parse(raw: bytes) -> object:
    return BytesParser(policy=policy.default).parsebytes(raw)


def test_messages_arrive_parse_and_share_one_connection(
    server: tuple[Handler, int],
    transport: SMTPTransport,
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """Ten messages go over one connection and parse into the expected parts and headers."""
    handler, _ = server
    report = run(service, actor, store, reviewkit_clock, transport, recipients=10)
    assert report.sent == 10
    assert transport.connects == 1
    assert len(handler.sessions) == 1
    assert len(handler.messages) == 10
    sender, rcpts, raw = handler.messages[0]
    assert sender == "opinie@sklep.example"
    assert rcpts == ["customer0@example.com"]
    email = parse(raw)
    assert email["From"].addresses[0].display_name == "Sklep Żółw"  # type: ignore[index]
    assert email["Reply-To"] == "obsluga@sklep.example"  # type: ignore[index]
    assert email["Subject"] == "How was order T0?"  # type: ignore[index]
    assert email.get_content_type() == "multipart/alternative"  # type: ignore[attr-defined]
    html = email.get_body(("html",)).get_content()  # type: ignore[attr-defined]
    assert "Dzień dobry Customer 0" in html
    ids = {parse(m[2])["Message-ID"] for m in handler.messages}  # type: ignore[index]
    assert len(ids) == 10


@pytest.mark.parametrize(("pipelining", "writes"), [(False, 4), (True, 2)])
def test_pipelining_sends_the_envelope_in_one_write(
    pipelining: bool, writes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against a server offering PIPELINING a message costs two writes (and two waits for
    replies) instead of four; a refused recipient in the middle fails alone and the
    connection goes on."""
    import smtplib
    from datetime import UTC, datetime

    sent: list[bytes] = []
    real_send = smtplib.SMTP.send

    def counted(self: smtplib.SMTP, data: bytes | str) -> None:
        sent.append(data if isinstance(data, bytes) else data.encode())
        real_send(self, data)

    def message(n: int) -> rk.OutgoingMessage:
        return rk.OutgoingMessage(
            message_id=f"m{n}", channel=rk.Channel.EMAIL, sender="main", to=f"c{n}@example.com",
            subject="s", text=".a line with a dot\nand the end", created_at=datetime.now(UTC),
            campaign_id="c",
        )  # fmt: skip

    with smtp_server(auth=True, pipelining=pipelining) as (handler, port):
        handler.rcpt_replies["c1@example.com"] = "550 5.1.1 no such user"
        transport = SMTPTransport(account(port))
        transport.send(message(0))
        monkeypatch.setattr(smtplib.SMTP, "send", counted)
        transport.send(message(2))
        assert len(sent) == writes
        with pytest.raises(rk.PermanentSendError, match=r"550 5\.1\.1 no such user"):
            transport.send(message(1))
        transport.send(message(3))
        transport.close()
    assert [m[1] for m in handler.messages] == [[f"c{n}@example.com"] for n in (0, 2, 3)]
    assert transport.connects == 1
    body = parse(handler.messages[0][2]).get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    assert body.startswith(".a line with a dot")  # dot-stuffed on the wire, intact on arrival


def test_bad_credentials_fail_the_campaign_and_lose_nothing(
    server: tuple[Handler, int],
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """A refused login is an account error: the campaign is Failed, every request still pending."""
    smtp = SMTPTransport(account(server[1], password="wrong"))
    report = run(service, actor, store, reviewkit_clock, smtp)
    assert report.failed_campaigns == ("reviews",)
    campaign = service.get(actor, "reviews")
    assert campaign.status is rk.CampaignStatus.FAILED
    assert "auth" in (campaign.failure_reason or "")
    assert "wrong" not in (campaign.failure_reason or "")  # no secret in the reason
    assert service.counts(actor, "reviews")[D.PENDING] == 3


@pytest.mark.parametrize(
    "reply", ["451 4.3.0 try again later", "421 4.3.2 closing, come back later"]
)
def test_temporary_replies_are_retried_and_sent_once(
    server: tuple[Handler, int],
    transport: SMTPTransport,
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_clock: rk.ManualClock,
    reply: str,
) -> None:
    """451 and 421 at DATA are transient: retried later, each message arrives exactly once."""
    handler, _ = server
    handler.data_replies.extend([reply, reply])
    report = run(service, actor, store, reviewkit_clock, transport)
    assert (report.sent, report.retried, report.failed) == (3, 2, 0)
    assert sorted(m[1][0] for m in handler.messages) == [
        f"customer{i}@example.com" for i in range(3)
    ]


def test_recipient_refused_fails_that_request_only(
    server: tuple[Handler, int],
    transport: SMTPTransport,
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """550 for one recipient fails that request, with the reply; the others are sent."""
    handler, _ = server
    handler.rcpt_replies["customer1@example.com"] = "550 5.1.1 no such user"
    report = run(service, actor, store, reviewkit_clock, transport)
    assert (report.sent, report.failed, report.retried) == (2, 1, 0)
    (failed,) = service.requests(actor, "reviews", {D.FAILED})
    assert failed.address == "customer1@example.com"
    assert "550 5.1.1 no such user" in (failed.last_error or "")


def test_connection_dropped_during_data_is_retried_not_lost(
    server: tuple[Handler, int],
    transport: SMTPTransport,
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """A connection cut in the middle of DATA: the message is retried and arrives once."""
    handler, _ = server
    handler.data_replies.append("drop")
    report = run(service, actor, store, reviewkit_clock, transport)
    assert report.sent == 3
    assert report.retried == 1
    assert len(handler.messages) == 3
    assert transport.connects == 2  # the first, then one after the drop (kept through the backoff)


def test_idle_connection_closed_by_the_server_is_reopened(
    server: tuple[Handler, int],
    transport: SMTPTransport,
) -> None:
    """A connection that died while idle is reopened at once; the message is not delayed."""
    from datetime import UTC, datetime

    message = rk.OutgoingMessage(
        message_id="m1",
        channel=rk.Channel.EMAIL,
        sender="main",
        to="a@example.com",
        subject="s",
        text="t",
        created_at=datetime.now(UTC),
        campaign_id="c",
    )
    transport.send(message)
    transport._connections["main"].smtp.sock.shutdown(socket.SHUT_RDWR)  # it dies while idle
    transport.send(message)
    assert len(server[0].messages) == 2
    assert transport.connects == 2


def test_server_down_keeps_requests_pending_for_retry(
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """Nobody listening: the attempts are transient failures, nothing is sent or lost."""
    smtp = SMTPTransport(account(free_port()))
    make_campaign(service, actor, recipients=2, interval=timedelta(0), sender="main")
    report = rk.Dispatcher(store, smtp, reviewkit_clock).dispatch_due()
    assert (report.sent, report.retried) == (0, 2)
    pending = list(service.requests(actor, "reviews", {D.PENDING}))
    assert len(pending) == 2
    assert all("cannot connect" in (d.last_error or "") for d in pending)


def test_sender_refused_is_an_account_error(
    server: tuple[Handler, int],
    transport: SMTPTransport,
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """A 5xx to MAIL FROM means the account cannot send: the campaign fails."""
    server[0].mail_replies.append("553 5.7.1 sender address rejected")
    report = run(service, actor, store, reviewkit_clock, transport)
    assert report.failed_campaigns == ("reviews",)
    assert "553" in (service.get(actor, "reviews").failure_reason or "")


@pytest.fixture(scope="module")
def certificates() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    return server_context, client_context


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "tls"])
def test_tls_and_login(certificates: tuple[ssl.SSLContext, ssl.SSLContext], implicit: bool) -> None:
    """STARTTLS and implicit TLS both log in and deliver, with the certificate checked."""
    server_context, client_context = certificates
    with smtp_server(auth=True, tls_context=server_context, implicit_tls=implicit) as (
        handler,
        port,
    ):
        secured = account(port, security="tls" if implicit else "starttls")
        verify_account(secured, "me@example.com", ssl_context=client_context)
        assert handler.messages[0][1] == ["me@example.com"]
        # Without trusting the test CA, the certificate is refused: a TLS-stage error.
        with pytest.raises(AccountVerificationError) as info:
            verify_account(secured, "me@example.com")
        assert info.value.stage == "tls"


def test_starttls_missing_is_refused(server: tuple[Handler, int]) -> None:
    """An account that requires STARTTLS never logs in over a plain connection."""
    with pytest.raises(AccountVerificationError, match="does not offer STARTTLS") as info:
        verify_account(account(server[1], security="starttls"), "me@example.com")
    assert info.value.stage == "tls"


@pytest.mark.parametrize(
    ("setup", "stage"),
    [
        ("closed_port", "connect"),
        ("bad_password", "auth"),
        ("bad_recipient", "recipient"),
        ("bad_host", "connect"),
    ],
)
def test_verify_names_the_failing_stage(
    server: tuple[Handler, int], setup: str, stage: str
) -> None:
    """verify says whether connecting, logging in or the recipient failed."""
    handler, port = server
    acc = {
        "closed_port": account(free_port()),
        "bad_password": account(port, password="nope"),
        "bad_recipient": account(port),
        "bad_host": account(port, host="no-such-host.invalid"),
    }[setup]
    handler.rcpt_replies["me@example.com"] = "550 5.1.1 unknown"
    with pytest.raises(AccountVerificationError) as info:
        verify_account(acc, "me@example.com")
    assert info.value.stage == stage


def test_hooks_can_sign_messages(server: tuple[Handler, int]) -> None:
    """A hook sees the final bytes and may prepend a header (the DKIM signing place)."""
    from datetime import UTC, datetime

    def sign(raw: bytes, message: rk.OutgoingMessage) -> bytes:
        return b"DKIM-Signature: v=1; a=rsa-sha256; d=sklep.example; b=test\r\n" + raw

    smtp = SMTPTransport(account(server[1]), hooks=[sign])
    smtp.send(
        rk.OutgoingMessage(
            message_id="m",
            channel=rk.Channel.EMAIL,
            sender="main",
            to="a@example.com",
            subject="s",
            text="t",
            created_at=datetime.now(UTC),
            campaign_id="c",
        )
    )
    smtp.close()
    assert parse(server[0].messages[0][2])["DKIM-Signature"].startswith("v=1")  # type: ignore[index]


def test_secrets_never_show() -> None:
    """Neither an account's repr nor a Secret's shows the password."""
    acc = account(25, password="hunter2")
    assert "hunter2" not in repr(acc)
    assert "hunter2" not in repr(acc.password) + str(acc.password)
    assert acc.password == Secret("hunter2")
    assert "hunter2" not in repr(SMTPTransport(acc))


def test_secret_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A password can come from the environment; a missing variable is a clear error."""
    monkeypatch.setenv("SHOP_SMTP_PASSWORD", "pw")
    assert secret_from_env("SHOP_SMTP_PASSWORD").reveal() == "pw"
    monkeypatch.delenv("SHOP_SMTP_PASSWORD")
    with pytest.raises(rk.ValidationError, match="SHOP_SMTP_PASSWORD is not set"):
        secret_from_env("SHOP_SMTP_PASSWORD")


def test_account_picked_by_name_or_address_and_rate_limit_exposed() -> None:
    """A campaign's sender picks the account by name or From address; no sender, the
    default; a sender no account matches is an account error naming every account."""
    a = account(25, name="a", from_address="a@shop.example", rate_limit="120/h")
    b = account(25, name="b", from_address="b@shop.example")
    smtp = SMTPTransport([a, b], default="b")
    assert smtp.account_for("a") is a
    assert smtp.account_for("Shop <A@shop.example>") is a
    assert smtp.account_for(None) is b
    with pytest.raises(rk.AccountError, match=r"a \(a@shop.example\), b \(b@shop.example\)"):
        smtp.account_for("someone@else.example")
    relay = account(25, name="relay", from_address=None)
    assert SMTPTransport([relay]).account_for("someone@else.example") is relay
    assert smtp.pacing("a") == ("a", timedelta(seconds=30))
    assert smtp.pacing("b") is None
    assert RateLimit.parse("5/min").min_gap == timedelta(seconds=12)
    with pytest.raises(rk.ValidationError, match="COUNT/PERIOD"):
        RateLimit.parse("fast")


def test_cli_dispatches_through_smtp(server: tuple[Handler, int], tmp_path: Path) -> None:
    """`reviewkit dispatch --smtp URL` sends a scheduled campaign to the SMTP server."""
    from .test_workers import finish, prepare

    handler, port = server
    db = tmp_path / "db.sqlite3"
    prepare(db, 4, sender="opinie@sklep.example")
    url = f"smtp+insecure://{USER}@127.0.0.1:{port}?from=opinie@sklep.example&rate=3600/h"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reviewkit",
            "dispatch",
            "--db",
            str(db),
            "--smtp",
            url,
            "--until-idle",
            "--max-wait",
            "5s",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, PASSWORD_ENV: PASSWORD},
    )
    assert "sent 4" in finish(process)
    assert len(handler.messages) == 4
    assert {m[0] for m in handler.messages} == {"opinie@sklep.example"}


def test_cli_verifies_accounts_from_a_file(server: tuple[Handler, int], tmp_path: Path) -> None:
    """`reviewkit accounts verify` sends a test per account and names a failing stage."""
    handler, port = server
    accounts = tmp_path / "accounts.toml"
    accounts.write_text(
        f"""
[[accounts]]
name = "good"
host = "127.0.0.1"
port = {port}
security = "none"
username = "{USER}"
password_env = "TEST_GOOD_PASSWORD"
from_address = "opinie@sklep.example"
default = true

[[accounts]]
name = "bad"
host = "127.0.0.1"
port = {port}
security = "none"
username = "{USER}"
password_env = "TEST_BAD_PASSWORD"
""",
        encoding="utf-8",
    )
    env = {**os.environ, "TEST_GOOD_PASSWORD": PASSWORD, "TEST_BAD_PASSWORD": "nope"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reviewkit",
            "accounts",
            "verify",
            "--accounts",
            str(accounts),
            "--to",
            "me@example.com",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "good: ok, test message sent to me@example.com" in result.stdout
    assert "bad: FAILED at auth: 535" in result.stderr
    assert "nope" not in result.stdout + result.stderr
    assert len(handler.messages) == 1


def test_accounts_file_refuses_plain_passwords(tmp_path: Path) -> None:
    """A password written in the accounts file is refused, naming the file and account."""
    path = tmp_path / "a.toml"
    path.write_text('[[accounts]]\nname = "x"\nhost = "h"\npassword = "p"\n', encoding="utf-8")
    with pytest.raises(rk.ValidationError, match=r"account #1: passwords do not belong in files"):
        accounts_from_file(path)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mx.example.com", ("mx.example.com", 587, "starttls", None)),
        ("smtps://u:p%40ss@mx.example.com", ("mx.example.com", 465, "tls", "u")),
        ("smtp+insecure://localhost:2525?from=a@b.example", ("localhost", 2525, "none", None)),
    ],
)
def test_smtp_urls(url: str, expected: tuple[str, int, str, str | None]) -> None:
    """SMTP URLs name host, port, security and user; the password never shows."""
    acc = account_from_url(url)
    assert (acc.host, acc.effective_port, acc.security.value, acc.username) == expected
    assert "p@ss" not in repr(acc)


@pytest.mark.parametrize("url", ["http://x", "smtp://", "smtp://h?colour=red"])
def test_bad_smtp_urls(url: str) -> None:
    """A URL with another scheme, no host or an unknown parameter is refused."""
    with pytest.raises(rk.ValidationError, match="SMTP URL"):
        account_from_url(url)


def test_requests_go_out_from_the_sender_chosen_for_them(
    server: tuple[Handler, int],
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """A campaign with a default and another mailbox sends each request from its own (seed 002)."""
    handler, port = server
    main = account(port)
    second = account(
        port, name="complaints", from_address="reklamacje@sklep.example", from_name="Reklamacje"
    )
    make_campaign(
        service,
        actor,
        recipients=0,
        schedule=False,
        interval=timedelta(0),
        sender="main",
        senders=["complaints"],
    )
    service.add_recipients(actor, "reviews", [rk.Recipient(email="a@example.com")])
    service.add_recipients(
        actor, "reviews", [rk.Recipient(email="b@example.com")], sender="complaints"
    )
    with pytest.raises(rk.ValidationError, match="does not send from 'nobody'"):
        service.add_recipients(
            actor, "reviews", [rk.Recipient(email="c@example.com")], sender="nobody"
        )
    service.schedule(actor, "reviews")
    smtp = SMTPTransport([main, second])
    assert rk.Dispatcher(store, smtp, reviewkit_clock).run().sent == 2
    smtp.close()
    by_rcpt = {m[1][0]: m[0] for m in handler.messages}
    assert by_rcpt == {
        "a@example.com": "opinie@sklep.example",
        "b@example.com": "reklamacje@sklep.example",
    }


def test_a_sender_without_an_account_fails_the_campaign_before_anything_is_sent(
    server: tuple[Handler, int],
    transport: SMTPTransport,
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """Nothing goes out through another account: Failed, with the accounts there are."""
    handler, _ = server
    make_campaign(service, actor, recipients=3, sender="Shop <news@shop.example>")
    report = rk.Dispatcher(store, transport, reviewkit_clock).run()
    assert report.failed_campaigns == ("reviews",)
    campaign = service.get(actor, "reviews")
    assert campaign.status is rk.CampaignStatus.FAILED
    assert "matches no sender account; accounts: main (opinie@sklep.example)" in (
        campaign.failure_reason or ""
    )
    assert handler.messages == []
    assert service.counts(actor, "reviews")[D.PENDING] == 3


def test_cli_dispatch_exits_1_and_says_why_when_a_campaign_failed(
    server: tuple[Handler, int], tmp_path: Path
) -> None:
    """A failed campaign is not a successful dispatch: exit status 1 and the reason."""
    from .test_workers import dispatch_process, prepare, smtp_url

    _, port = server
    db = tmp_path / "db.sqlite3"
    prepare(db, 2, sender="news@elsewhere.example")
    process = dispatch_process(db, "--smtp", smtp_url(port), "--max-wait", "5s")
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    assert "campaign 'load' failed: the campaign's sender 'news@elsewhere.example'" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("offered", [True, False])
def test_a_utf8_local_part_goes_out_with_smtputf8_where_the_server_offers_it(
    offered: bool,
    service: rk.CampaignService,
    actor: rk.Actor,
    store: rk.Store,
    reviewkit_clock: rk.ManualClock,
) -> None:
    """łucja@… is sent with SMTPUTF8; a server without it fails that request alone, saying why."""
    with smtp_server(smtputf8=offered) as (handler, port):
        smtp = SMTPTransport(account(port, username=None, password=None))
        make_campaign(service, actor, recipients=1, sender="main", schedule=False)
        service.add_recipients(actor, "reviews", [rk.Recipient(email="łucja@example.com")])
        service.schedule(actor, "reviews")
        report = rk.Dispatcher(store, smtp, reviewkit_clock).run()
        smtp.close()
    if offered:
        assert (report.sent, report.failed) == (2, 0)
        _, rcpts, raw = handler.messages[1]
        assert rcpts == ["łucja@example.com"]
        # A mail client reads the UTF-8 header as text (RFC 6532).
        text = Parser(policy=policy.SMTPUTF8).parsestr(raw.decode("utf-8"))
        assert text["To"].addresses[0].username == "łucja"
        return
    assert (report.sent, report.failed) == (1, 1)
    (failed,) = service.requests(actor, "reviews", {D.FAILED})
    assert failed.last_error == (
        "łucja@example.com has a non-ASCII local part, which needs SMTPUTF8, and the server "
        "does not offer it"
    )


def test_a_server_that_takes_data_after_refusing_the_recipient_gets_an_empty_message() -> None:
    """A pipelining server that answers 354 to DATA although it refused the recipient (RFC
    2920 lets it) gets an empty message ended at once: the refusal is the request's
    error, nothing of the message is sent, and the connection carries the next one."""
    import threading

    received: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        connection, _ = listener.accept()
        with connection, connection.makefile("rb") as lines:
            connection.sendall(b"220 fake ESMTP\r\n")
            in_data = False
            body = b""
            for line in lines:
                if in_data:
                    if line == b".\r\n":
                        received.append(body)
                        in_data, body = False, b""
                        connection.sendall(b"250 queued\r\n")
                    else:
                        body += line
                    continue
                verb = line[:4].upper()
                if verb == b"EHLO":
                    connection.sendall(b"250-fake\r\n250 PIPELINING\r\n")
                elif verb == b"RCPT":
                    ok = b"good@" in line
                    connection.sendall(b"250 ok\r\n" if ok else b"550 5.1.1 no such user\r\n")
                elif verb == b"DATA":
                    in_data = True
                    connection.sendall(b"354 go ahead\r\n")  # even with no recipient
                elif verb == b"QUIT":
                    connection.sendall(b"221 bye\r\n")
                    return
                else:  # MAIL, RSET
                    connection.sendall(b"250 ok\r\n")

    worker = threading.Thread(target=serve, daemon=True)
    worker.start()
    from datetime import UTC, datetime

    def message(to: str) -> rk.OutgoingMessage:
        return rk.OutgoingMessage(
            message_id=to, channel=rk.Channel.EMAIL, sender="main", to=to, subject="s",
            text="hello", created_at=datetime.now(UTC), campaign_id="c",
        )  # fmt: skip

    transport = SMTPTransport(account(port, username=None, password=None))
    with pytest.raises(rk.PermanentSendError, match="no such user"):
        transport.send(message("bad@example.com"))
    transport.send(message("good@example.com"))
    transport.close()
    worker.join(timeout=10)
    listener.close()
    assert received[0] == b""  # the refused one: nothing of the message went
    assert b"hello" in received[1]
    assert transport.connects == 1
