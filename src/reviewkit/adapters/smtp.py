"""SMTP: send through one or more sender accounts, keeping a connection open across a batch.

Failures are sorted into reviewkit's three kinds, so the dispatcher does the right thing:

============================================  ========================================
what happened                                 raised
============================================  ========================================
4xx reply, 421, connection dropped, timeout,  :class:`~reviewkit.errors.TransientSendError`
server down (refused, no route)               (retried with backoff)
5xx for the recipient or the message          :class:`~reviewkit.errors.PermanentSendError`
authentication refused, TLS broken, sender    :class:`~reviewkit.errors.AccountError`
address refused (5xx to MAIL FROM)            (the campaign goes Failed with the reason)
============================================  ========================================

A connection dropped while idle is reopened and the message sent at once; one dropped in
the middle of DATA is a transient failure (the server may or may not have kept the message,
so it is retried later under the same Message-ID).
"""

from __future__ import annotations

import contextlib
import os
import re
import smtplib
import socket
import ssl
import tomllib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

import attrs

from reviewkit.adapters.accounts import Security, SenderAccount, secret_from_env
from reviewkit.adapters.mime import MessageHook, address_only, build_email_bytes, needs_smtputf8
from reviewkit.domain.campaign import Channel
from reviewkit.domain.messages import OutgoingMessage
from reviewkit.domain.secret import Secret
from reviewkit.errors import (
    AccountError,
    AccountVerificationError,
    PermanentSendError,
    TransientSendError,
    TransportError,
    ValidationError,
)

__all__ = [
    "PASSWORD_ENV",
    "AccountVerificationError",
    "SMTPTransport",
    "account_from_url",
    "accounts_from_file",
    "verify_account",
]


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _classify(code: int, reply: bytes | str, stage: str, account: str) -> TransportError:
    text = f"{code} {_text(reply)}".strip()
    if 400 <= code < 500:
        return TransientSendError(f"{stage} refused for now by {account}: {text}")
    if stage == "sender" or code in (530, 534, 535, 538):
        return AccountError(f"account {account!r}: {stage} refused: {text}")
    return PermanentSendError(f"{stage} refused: {text}")


class _RefusedError(Exception):
    """One step of a mail transaction failed: a reply *code*, or ``None`` when the
    connection itself failed (then *reply* is the error)."""

    def __init__(self, stage: str, code: int | None, reply: bytes | str) -> None:
        super().__init__(f"{stage}: {code} {_text(reply)}")
        self.stage = stage
        self.code = code
        self.reply = reply


def _mail_transaction(smtp: smtplib.SMTP, sender: str, recipient: str, raw: bytes) -> None:
    """MAIL FROM, RCPT TO and DATA on an open connection; with ``SMTPUTF8`` (and
    ``BODY=8BITMIME``) when an address has a non-ASCII local part. When the server offers
    PIPELINING (RFC 2920), the three commands go in one write and their replies are read
    together: two round trips a message instead of four.

    *sender* and *recipient* are bare envelope addresses (``user@domain``), already checked.

    :raises _RefusedError: naming the stage (``sender``, ``recipient``, ``data``) that failed.
    :raises PermanentSendError: an address needs SMTPUTF8 and the server does not offer it.
    """
    options = ""
    if needs_smtputf8(sender) or needs_smtputf8(recipient):
        if not smtp.has_extn("smtputf8"):
            raise PermanentSendError(
                f"{recipient if needs_smtputf8(recipient) else sender} has a non-ASCII local "
                "part, which needs SMTPUTF8, and the server does not offer it"
            )
        options = " SMTPUTF8" + (" BODY=8BITMIME" if smtp.has_extn("8bitmime") else "")
    encoding = "utf-8" if options else "ascii"
    commands = (
        ("sender", f"MAIL FROM:<{sender}>{options}\r\n".encode(encoding), (250,)),
        ("recipient", f"RCPT TO:<{recipient}>\r\n".encode(encoding), (250, 251)),
        ("data", b"DATA\r\n", (354,)),
    )
    if smtp.has_extn("pipelining"):
        _send(smtp, "sender", b"".join(command for _, command, _ in commands))
        replies = [(stage, *_reply(smtp, stage), accepted) for stage, _, accepted in commands]
        refused = next((r for r in replies if r[1] not in r[3]), None)
        if refused is not None:
            if replies[2][1] == 354:
                # DATA was taken though an earlier command failed: end it with no message.
                _send(smtp, "data", b".\r\n")
                _reply(smtp, "data")
            raise _RefusedError(refused[0], refused[1], refused[2])
    else:
        for stage, command, accepted in commands:
            _send(smtp, stage, command)
            code, reply = _reply(smtp, stage)
            if code not in accepted:
                raise _RefusedError(stage, code, reply)
    # The message, dot-stuffed and ended with a lone dot, as smtplib's data() sends it.
    body = _LEADING_DOT.sub(b"..", raw)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    _send(smtp, "data", body + b".\r\n")
    code, reply = _reply(smtp, "data")
    if code != 250:
        raise _RefusedError("data", code, reply)


_LEADING_DOT = re.compile(rb"(?m)^\.")


def _send(smtp: smtplib.SMTP, stage: str, data: bytes) -> None:
    try:
        smtp.send(data)
    except (smtplib.SMTPException, OSError) as exc:
        raise _RefusedError(stage, None, str(exc)) from exc


def _reply(smtp: smtplib.SMTP, stage: str) -> tuple[int, bytes]:
    try:
        return smtp.getreply()
    except (smtplib.SMTPException, OSError) as exc:
        raise _RefusedError(stage, None, str(exc)) from exc


@attrs.define
class _Connection:
    smtp: smtplib.SMTP
    sent: int = 0


class SMTPTransport:
    """Send through the SMTP accounts given; a campaign picks one by its ``sender``.

    :param accounts: one account or several.
    :param default: the account used when a campaign's sender names none of them (the
        first account when not given).
    :param hooks: functions applied to every message's bytes before sending (DKIM signing).
    :param ssl_context: for TLS and STARTTLS (the system's trusted CAs by default).

    ``send`` picks the account whose ``name`` or ``from_address`` equals the campaign's
    sender; a campaign without a sender goes through the default account. A sender that
    matches no account raises :class:`~reviewkit.errors.AccountError` naming the accounts
    (the dispatcher then fails the campaign before anything is sent), unless the default
    account has no ``from_address`` and so sends as whichever sender a campaign names.
    One connection per account stays open until :meth:`close`.
    """

    def __init__(
        self,
        accounts: SenderAccount | Sequence[SenderAccount],
        *,
        default: str | None = None,
        hooks: Iterable[MessageHook] = (),
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        self.accounts = [accounts] if isinstance(accounts, SenderAccount) else list(accounts)
        if not self.accounts:
            raise ValidationError("SMTPTransport needs at least one sender account")
        names = [a.name for a in self.accounts]
        if len(set(names)) != len(names):
            raise ValidationError(f"sender account names repeat: {names}")
        self.default = self._named(default) if default else self.accounts[0]
        self.hooks = list(hooks)
        self.ssl_context = ssl_context
        self.local_hostname = local_hostname
        self._connections: dict[str, _Connection] = {}
        self._picked: dict[str | None, SenderAccount] = {}
        self.connects = 0
        """How many connections were opened (for monitoring and tests)."""

    def __repr__(self) -> str:
        return f"SMTPTransport(accounts={[a.name for a in self.accounts]!r})"

    def _named(self, name: str) -> SenderAccount:
        for account in self.accounts:
            if account.name == name:
                return account
        raise ValidationError(
            f"no sender account named {name!r}; have {[a.name for a in self.accounts]}"
        )

    def account_for(self, sender: str | None) -> SenderAccount:
        """Return the account that sends for a campaign whose sender is *sender*.

        :raises AccountError: *sender* matches no account (see the class docstring).
        """
        found = self._picked.get(sender)
        if found is None:
            found = self._picked[sender] = self._pick(sender)
        return found

    def _pick(self, sender: str | None) -> SenderAccount:
        if not sender:
            return self.default
        _, address = parseaddr(sender)
        for account in self.accounts:
            if sender == account.name or (
                account.from_address and address.casefold() == account.from_address.casefold()
            ):
                return account
        if self.default.from_address is None:
            return self.default  # an account without an address of its own sends as told
        known = ", ".join(
            f"{a.name} ({a.from_address})" if a.from_address else a.name for a in self.accounts
        )
        raise AccountError(
            f"the campaign's sender {sender!r} matches no sender account; accounts: {known}. "
            "Set the campaign's sender to one of them, or configure an account for it"
        )

    def pacing(self, sender: str | None) -> tuple[str, timedelta] | None:
        """The rate limit of the account that sends as *sender* (see ``RateLimitedTransport``)."""
        account = self.account_for(sender)
        if account.rate_limit is None:
            return None
        return (account.name, account.rate_limit.min_gap)

    # -- sending --------------------------------------------------------------------------

    def send(self, message: OutgoingMessage) -> None:
        account = self.account_for(message.sender)
        raw = build_email_bytes(message, sender=account.from_header, reply_to=account.reply_to)
        for hook in self.hooks:
            raw = hook(raw, message)
        envelope_from = account.from_address or address_only(message.sender or "", message)
        self._deliver(account, envelope_from, address_only(message.to, message), raw)

    def _deliver(self, account: SenderAccount, sender: str, recipient: str, raw: bytes) -> None:
        for attempt in (1, 2):
            connection = self._connection(account)
            try:
                _mail_transaction(connection.smtp, sender, recipient, raw)
            except _RefusedError as exc:
                if exc.code is not None:
                    self._reset(account, exc.code)
                    raise _classify(exc.code, exc.reply, exc.stage, account.name) from exc
                self._drop(account)
                if exc.stage != "data" and attempt == 1:
                    continue  # an idle connection the server closed: nothing was accepted yet
                where = "dropped during DATA" if exc.stage == "data" else "lost"
                raise TransientSendError(
                    f"connection to {account.host} {where}: {_text(exc.reply)}"
                ) from exc
            connection.sent += 1
            return

    def _reset(self, account: SenderAccount, code: int) -> None:
        if code == 421:  # the server is closing the channel
            self._drop(account)
            return
        connection = self._connections.get(account.name)
        if connection is not None:
            try:
                connection.smtp.rset()
            except (smtplib.SMTPException, OSError):
                self._drop(account)

    def _connection(self, account: SenderAccount) -> _Connection:
        connection = self._connections.get(account.name)
        if connection is None:
            connection = _Connection(self._open(account))
            self._connections[account.name] = connection
            self.connects += 1
        return connection

    def _open(self, account: SenderAccount) -> smtplib.SMTP:
        try:
            return open_smtp(account, self.ssl_context, self.local_hostname)
        except AccountVerificationError as exc:
            if exc.stage == "connect":
                raise TransientSendError(str(exc)) from exc
            raise AccountError(str(exc)) from exc

    def _drop(self, account: SenderAccount) -> None:
        connection = self._connections.pop(account.name, None)
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.smtp.close()

    def close(self) -> None:
        """Say QUIT on every open connection."""
        for name in list(self._connections):
            connection = self._connections.pop(name)
            try:
                connection.smtp.quit()
            except (smtplib.SMTPException, OSError):
                connection.smtp.close()


def open_smtp(
    account: SenderAccount,
    ssl_context: ssl.SSLContext | None = None,
    local_hostname: str | None = None,
) -> smtplib.SMTP:
    """Connect, secure and log in to *account*'s server.

    :raises AccountVerificationError: naming the stage that failed.
    """
    host, port = account.host, account.effective_port
    context = ssl_context
    if context is None and account.security is not Security.NONE:
        context = ssl.create_default_context()
    try:
        if account.security is Security.TLS:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=account.timeout, context=context, local_hostname=local_hostname
            )
        else:
            smtp = smtplib.SMTP(host, port, timeout=account.timeout, local_hostname=local_hostname)
    except ssl.SSLError as exc:
        raise AccountVerificationError(account.name, "tls", f"{host}:{port}: {exc}") from exc
    except socket.gaierror as exc:
        raise AccountVerificationError(
            account.name, "connect", f"cannot resolve {host}: {exc}"
        ) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise AccountVerificationError(
            account.name, "connect", f"cannot connect to {host}:{port}: {exc}"
        ) from exc
    try:
        smtp.ehlo()
        if account.security is Security.STARTTLS:
            if not smtp.has_extn("starttls"):
                raise AccountVerificationError(
                    account.name, "tls", f"{host}:{port} does not offer STARTTLS"
                )
            try:
                smtp.starttls(context=context)
            except (ssl.SSLError, smtplib.SMTPException, OSError) as exc:
                raise AccountVerificationError(account.name, "tls", str(exc)) from exc
            smtp.ehlo()
        if account.username:
            password = account.password.reveal() if account.password else ""
            try:
                smtp.login(account.username, password)
            except smtplib.SMTPAuthenticationError as exc:
                raise AccountVerificationError(
                    account.name,
                    "auth",
                    f"{exc.smtp_code} {_text(exc.smtp_error)} (user {account.username!r})",
                ) from exc
            except smtplib.SMTPNotSupportedError as exc:
                raise AccountVerificationError(
                    account.name, "auth", f"{host} offers no AUTH on this connection"
                ) from exc
    except AccountVerificationError:
        smtp.close()
        raise
    except (smtplib.SMTPException, OSError) as exc:
        smtp.close()
        raise AccountVerificationError(account.name, "connect", f"{host}:{port}: {exc}") from exc
    return smtp


def verify_account(
    account: SenderAccount,
    to: str,
    *,
    ssl_context: ssl.SSLContext | None = None,
    message: OutgoingMessage | None = None,
    hooks: Iterable[MessageHook] = (),
) -> str | None:
    """Connect, authenticate and send a test message to *to*, through *hooks* as the
    transport sends.

    :returns: the DKIM signature's ``d=… s=…`` when a hook signed the message, else ``None``.

    :raises AccountVerificationError: naming the stage that failed — ``connect`` (DNS,
        refused, timeout), ``tls``, ``auth``, ``sender``, ``recipient`` or ``data``.
    """
    test = message or OutgoingMessage(
        message_id=f"verify.{account.name}.{int(datetime.now(UTC).timestamp())}",
        channel=Channel.EMAIL,
        sender=account.from_header or to,
        to=to,
        subject="reviewkit: test message",
        text=f"This test message was sent through the sender account {account.name!r}.\n",
        created_at=datetime.now(UTC),
        campaign_id="verify",
    )
    raw = build_email_bytes(test, sender=account.from_header, reply_to=account.reply_to)
    for hook in hooks:
        raw = hook(raw, test)
    sender = account.from_address or address_only(test.sender or to, test)
    smtp = open_smtp(account, ssl_context)
    try:
        _mail_transaction(smtp, sender, address_only(to, test), raw)
    except _RefusedError as exc:
        detail = exc.reply if exc.code is None else f"{exc.code} {_text(exc.reply)}"
        raise AccountVerificationError(account.name, exc.stage, str(detail)) from exc
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
    return _dkim_of(raw)


def _dkim_of(raw: bytes) -> str | None:
    """``d=… s=…`` of a message's DKIM-Signature header, if it has one."""
    if not raw.startswith(b"DKIM-Signature:"):
        return None
    header = raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace").replace("\r\n", "")
    tags = dict(
        part.strip().split("=", 1) for part in header.split(":", 1)[1].split(";") if "=" in part
    )
    return f"signed, d={tags.get('d', '?')} s={tags.get('s', '?')}"


_SCHEMES = {"smtp": Security.STARTTLS, "smtps": Security.TLS, "smtp+insecure": Security.NONE}
PASSWORD_ENV = "REVIEWKIT_SMTP_PASSWORD"  # noqa: S105 - a variable's name, not a password
"""Where :func:`account_from_url` reads the password when the URL has a user and no password."""


def account_from_url(url: str, *, name: str = "default") -> SenderAccount:
    """Build an account from ``smtp://user@host:587?from=reviews@shop.example&rate=100/h``.

    Schemes: ``smtp`` (STARTTLS), ``smtps`` (implicit TLS), ``smtp+insecure`` (no TLS, for
    a local relay). The password comes from the ``REVIEWKIT_SMTP_PASSWORD`` environment
    variable (one written into the URL is accepted but ends up in shell histories).

    :raises ValidationError: for another scheme, a missing host or a bad parameter.
    """
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise ValidationError(
            f"SMTP URL scheme {parts.scheme!r}: use smtp://, smtps:// or smtp+insecure://"
        )
    if not parts.hostname:
        raise ValidationError("SMTP URL has no host: smtp://user@host:port")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"from", "name", "reply_to", "rate"}
    if unknown:
        raise ValidationError(f"SMTP URL parameters {sorted(unknown)} are unknown")
    username = unquote(parts.username) if parts.username else None
    password: Secret | None = None
    if parts.password:
        password = Secret(unquote(parts.password))
    elif username:
        password = secret_from_env(PASSWORD_ENV)
    try:
        port = parts.port
    except ValueError as exc:
        raise ValidationError(f"SMTP URL port: {exc}") from exc
    return SenderAccount(
        name=name,
        host=parts.hostname,
        port=port,
        security=_SCHEMES[parts.scheme],
        username=username,
        password=password,
        from_address=query.get("from"),
        from_name=query.get("name"),
        reply_to=query.get("reply_to"),
        rate_limit=query.get("rate"),
    )


_FILE_KEYS = {
    "name",
    "host",
    "port",
    "security",
    "username",
    "password_env",
    "from_address",
    "from_name",
    "reply_to",
    "rate_limit",
    "timeout",
    "default",
}


def accounts_from_file(path: str | os.PathLike[str]) -> tuple[list[SenderAccount], str | None]:
    """Read sender accounts from a TOML file; return them and the default account's name.

    Each ``[[accounts]]`` table holds the fields of :class:`SenderAccount`, with
    ``password_env`` naming the environment variable that holds the password (a plain
    ``password`` is refused) and ``default = true`` on at most one account.

    :raises ValidationError: naming the file, the account and the problem.
    """
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValidationError(f"cannot read accounts file {path}: {exc}") from exc
    tables = data.get("accounts")
    if not isinstance(tables, list) or not tables:
        raise ValidationError(f"accounts file {path} has no [[accounts]] table")
    accounts, default = [], None
    for number, table in enumerate(tables, start=1):
        where = f"accounts file {path}, account #{number}"
        if "password" in table:
            raise ValidationError(
                f"{where}: passwords do not belong in files; name an environment variable "
                "with password_env"
            )
        unknown = set(table) - _FILE_KEYS
        if unknown:
            raise ValidationError(f"{where}: unknown keys {sorted(unknown)}")
        fields = dict(table)
        env = fields.pop("password_env", None)
        is_default = bool(fields.pop("default", False))
        try:
            account = SenderAccount(**fields, password=secret_from_env(env) if env else None)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"{where}: {exc}") from exc
        if is_default:
            if default is not None:
                raise ValidationError(f"{where}: only one account can be the default")
            default = account.name
        accounts.append(account)
    return accounts, default
