"""Plug in your own transport: any class with ``send`` and ``close`` is one.

This one posts every message to a webhook-like callable and maps its errors into reviewkit's
three kinds, so the dispatcher retries, fails or stops the campaign correctly.

Run it: ``python examples/custom_transport.py``
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import reviewkit as rk


class GatewayError(Exception):
    """What a made-up HTTP client raises."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class WebhookTransport:
    """Hands each message to *post*; no base class needed (``reviewkit.ports.Transport``)."""

    def __init__(self, post: Callable[[dict[str, str]], None]) -> None:
        self.post = post

    def send(self, message: rk.OutgoingMessage) -> None:
        try:
            self.post({"id": message.message_id, "to": message.to, "text": message.text})
        except GatewayError as exc:
            if exc.status in (401, 403):
                raise rk.AccountError(f"gateway refused our key: {exc}") from exc
            if exc.status >= 500 or exc.status == 429:
                raise rk.TransientSendError(f"gateway busy: {exc}") from exc
            raise rk.PermanentSendError(f"gateway rejected {message.to}: {exc}") from exc

    def close(self) -> None:
        pass


posted: list[dict[str, str]] = []
answers = iter([503, None, None])  # the first call fails with a 503, then all is well


def post(payload: dict[str, str]) -> None:
    status = next(answers, None)
    if status is not None:
        raise GatewayError(status)
    posted.append(payload)


clock = rk.ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
store = rk.InMemoryStore()
service = rk.CampaignService(store, clock)
me = rk.Actor.system()
service.create(
    me,
    name="sms",
    channel=rk.Channel.SMS,
    sender="SHOP",
    body="Rate order {{ recipient.transaction_id }}",
    start_at=clock.now(),
)
service.add_recipients(
    me,
    "sms",
    [
        rk.Recipient(phone="+48500100200", transaction_id="A-1"),
        rk.Recipient(phone="+48500100201", transaction_id="A-2"),
    ],
)
service.schedule(me, "sms")
report = rk.Dispatcher(store, WebhookTransport(post), clock).run()
print(f"sent {report.sent}, retried {report.retried}")
assert report.sent == 2
assert report.retried == 1
assert {p["to"] for p in posted} == {"+48500100200", "+48500100201"}
