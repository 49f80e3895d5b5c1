"""A transport that writes each message into a Maildir folder.

Any mail client (mutt, Thunderbird with a local folder, ``python -m mailbox``) reads the
result; it is the embedded default outbox for development and the demo.
"""

from __future__ import annotations

import mailbox
import os
from pathlib import Path

from reviewkit.adapters.mime import build_email_bytes
from reviewkit.domain.messages import OutgoingMessage
from reviewkit.errors import TransientSendError

__all__ = ["MaildirTransport"]


class MaildirTransport:
    """Deliver messages into the Maildir at *path* (created if missing).

    SMS messages are written too, as plain-text messages addressed to the phone number,
    so a developer sees every channel in one place.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        # Made here rather than by mailbox.Maildir(create=True), which fails when another
        # worker process creates the same folder at the same moment.
        for folder in ("tmp", "new", "cur"):
            (self.path / folder).mkdir(parents=True, exist_ok=True)
        self._box = mailbox.Maildir(self.path, create=False)

    def send(self, message: OutgoingMessage) -> None:
        raw = build_email_bytes(message).replace(b"\r\n", b"\n")  # files use Unix lines
        try:
            self._box.add(raw)
        except OSError as exc:
            raise TransientSendError(f"cannot write to Maildir {self.path}: {exc}") from exc

    def close(self) -> None:
        self._box.close()

    def __repr__(self) -> str:
        return f"MaildirTransport({str(self.path)!r})"
