"""Every error reviewkit raises, under one root.

::

    ReviewkitError
     ├── ValidationError            bad input: a value, a template, a window definition
     │    ├── TemplateError          a template that does not parse or reads an unknown variable
     │    ├── WindowError            a send window or schedule that can never open
     │    ├── TokenError             a link token that is forged, tampered with or expired
     │    └── SurveyClosedError      an answer after the survey's expiry
     ├── NotFoundError              no campaign / request with that name or id
     ├── ConflictError              the thing already exists (a second campaign of one name)
     │    └── StaleVersionError      the campaign was saved by someone else since it was read
     ├── ConfigurationError         reviewkit is set up wrongly (a dispatcher without link keys)
     ├── PermissionDeniedError      the acting user lacks a permission
     ├── CampaignStateError         an action the campaign's status forbids
     │    ├── IllegalTransitionError a status change the state machine has no edge for
     │    └── CampaignReadOnlyError  an edit of a Completed or Cancelled campaign
     ├── RequestStateError          an action the request's status forbids
     ├── TaskStateError             a task move its status forbids (reopening a Done task)
     ├── RateLimitedError           too many answers on an open survey link just now
     ├── StorageError               the database cannot be used (newer schema, not a database)
     │    ├── StorageBusyError       another process held the write lock past the busy timeout
     │    ├── StorageFullError       the disk is full; the change was not written
     │    └── StorageReadOnlyError   the file, its folder or the store is read-only
     ├── AccountVerificationError   verifying a sender account failed, at a named stage
     └── TransportError             sending failed (raised by transports, caught by the dispatcher)
          ├── TransientSendError     try again later (4xx, dropped connection, timeout)
          ├── PermanentSendError     this recipient will never accept it (5xx for the address)
          └── AccountError           the sender account cannot send at all (bad credentials)

Foreign exceptions are mapped into this tree where they cross into reviewkit, with
``raise ... from exc`` so the original stays attached.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reviewkit.domain.tokens import LinkToken

__all__ = [
    "AccountError",
    "AccountVerificationError",
    "CampaignReadOnlyError",
    "CampaignStateError",
    "ConfigurationError",
    "ConflictError",
    "IllegalTransitionError",
    "NotFoundError",
    "PermanentSendError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RequestStateError",
    "ReviewkitError",
    "StaleVersionError",
    "StorageBusyError",
    "StorageError",
    "StorageFullError",
    "StorageReadOnlyError",
    "StorageUnavailableError",
    "SurveyClosedError",
    "TaskStateError",
    "TemplateError",
    "TokenError",
    "TransientSendError",
    "TransportError",
    "ValidationError",
    "WindowError",
]


class ReviewkitError(Exception):
    """The root of every error reviewkit raises on purpose."""


class ValidationError(ReviewkitError, ValueError):
    """A value given to reviewkit is not acceptable; the message says which and why."""


class TemplateError(ValidationError):
    """A message template does not parse, or reads a variable that will not exist.

    :ivar template: the template's name (``"subject"``, ``"body"``, ``"html"``)
    :ivar line: the 1-based line in that template, when known
    :ivar variable: the unknown variable's name, when that is the problem
    """

    def __init__(
        self,
        message: str,
        *,
        template: str,
        line: int | None = None,
        variable: str | None = None,
    ) -> None:
        where = template if line is None else f"{template}, line {line}"
        super().__init__(f"template {where}: {message}")
        self.template = template
        self.line = line
        self.variable = variable


class WindowError(ValidationError):
    """A send window that is malformed or never opens."""


class NotFoundError(ReviewkitError, LookupError):
    """No object with the given name or id exists in the store."""


class ConflictError(ReviewkitError):
    """The object to create already exists (for example a campaign with the same name)."""


class StaleVersionError(ConflictError):
    """A campaign was saved by another operator or worker since this copy was read: read it
    again and repeat the change."""


class ConfigurationError(ReviewkitError):
    """reviewkit is set up wrongly for what it was asked to do — a setting of the host, not
    a fault of a campaign or a request (for example a dispatcher without the link keys a
    campaign's links need)."""


class PermissionDeniedError(ReviewkitError):
    """The acting user does not hold the permission an action needs."""


class CampaignStateError(ReviewkitError):
    """The campaign's status does not allow the requested action."""


class IllegalTransitionError(CampaignStateError):
    """The campaign state machine has no edge for this event from the current status."""


class CampaignReadOnlyError(CampaignStateError):
    """Completed and Cancelled campaigns cannot be edited."""


class RequestStateError(ReviewkitError):
    """The request's status does not allow the requested action."""


class TaskStateError(ReviewkitError):
    """The task's status does not allow the requested move."""


class TransportError(ReviewkitError):
    """Sending a message failed. Transports raise one of the three subclasses."""


class TransientSendError(TransportError):
    """A failure that may go away: the dispatcher retries the request with backoff."""


class PermanentSendError(TransportError):
    """This recipient will not accept the message: the request fails, no retry."""


class AccountError(TransportError):
    """The sender account cannot send anything (bad credentials, disabled account).

    The request is not at fault and stays pending; the campaign goes Failed with this reason.
    """


class TokenError(ValidationError):
    """A token that is malformed, tampered with, signed by an unknown key, or expired.

    :ivar reason: ``"malformed"``, ``"tampered"``, ``"unknown key"``, ``"wrong purpose"``
        or ``"expired"``.
    :ivar token: for an expired token only, what the authentic token said (a
        :class:`~reviewkit.domain.tokens.LinkToken`), e.g. to show a page in its survey's
        language; ``None`` otherwise.
    """

    def __init__(self, reason: str, detail: str, *, token: LinkToken | None = None) -> None:
        super().__init__(f"link token refused ({reason}): {detail}")
        self.reason = reason
        self.token = token


class RateLimitedError(ReviewkitError):
    """Too many answers came through one open survey link just now; nothing was recorded.

    :ivar retry_at: when the link takes an answer again.
    """

    def __init__(self, message: str, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class SurveyClosedError(ValidationError):
    """An answer came after the survey's expiry; nothing was recorded.

    :ivar language: the survey's language, for a page that tells the customer (``None``
        when not known).
    """

    def __init__(self, message: str, *, language: str | None = None) -> None:
        super().__init__(message)
        self.language = language


class StorageError(ReviewkitError):
    """The database cannot be used: a newer schema, a corrupt file, a locked database.

    A storage error is raised before anything of the failed call is kept: the call's
    transaction is rolled back and what was stored before stays as it was.

    :ivar transient: ``True`` when the same call may succeed later unchanged (a lock held by
        another process, a full disk that is cleared); workers wait and retry these.
    """

    transient = False


class StorageBusyError(StorageError):
    """Another process held the database's write lock for longer than the busy timeout."""

    transient = True


class StorageUnavailableError(StorageError):
    """The database server cannot be reached (stopped, restarting, or the network is down)."""

    transient = True


class StorageFullError(StorageError):
    """The disk holding the database (or its write-ahead log) is full."""

    transient = True


class StorageReadOnlyError(StorageError):
    """A write to a database that cannot be written: a read-only file, folder or mount, or a
    store opened with ``readonly=True``."""


class AccountVerificationError(ReviewkitError):
    """Verifying a sender account failed; :attr:`stage` says where.

    Stages: ``connect`` (DNS, refused, timeout), ``tls``, ``auth``, ``sender``, ``recipient``,
    ``data``.
    """

    def __init__(self, account: str, stage: str, detail: str) -> None:
        super().__init__(f"account {account!r} failed at {stage}: {detail}")
        self.account = account
        self.stage = stage
        self.detail = detail


def __getattr__(name: str) -> object:
    """Former names still resolve, with a DeprecationWarning."""
    if name == "DeliveryStateError":
        from reviewkit.domain.renamed import warn_renamed

        warn_renamed("reviewkit.errors.DeliveryStateError", "RequestStateError")
        return RequestStateError
    raise AttributeError(f"module 'reviewkit.errors' has no attribute {name!r}")
