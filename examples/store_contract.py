"""Prove your own store, or your own transport, with the contract suites reviewkit's adapters
pass.

A host that keeps a record of every claim (for an audit trail) wraps the in-memory store; a
host that posts messages to its own gateway writes a transport. Subclassing
``StoreContract`` and ``TransportContract`` runs every test of the contracts against them.

Run it: ``python examples/store_contract.py`` (it runs pytest on itself).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import pytest

import reviewkit as rk
from reviewkit.testing import Received, StoreContract, TransportContract


class AuditedStore(rk.InMemoryStore):
    """An in-memory store that also remembers which worker claimed which request, when."""

    def __init__(self) -> None:
        super().__init__()
        self.audit: list[tuple[datetime, str, str]] = []

    def claim_requests(self, campaign_id: str, **kwargs: Any) -> list[rk.Request]:
        claimed = super().claim_requests(campaign_id, **kwargs)
        self.audit += [(kwargs["now"], kwargs["worker_id"], d.id) for d in claimed]
        return claimed


class OutboxTransport:
    """Keeps e-mails in a list, as a gateway client would post them; refuses header
    injection like every e-mail transport must."""

    def __init__(self) -> None:
        self.outbox: list[rk.OutgoingMessage] = []

    def send(self, message: rk.OutgoingMessage) -> None:
        if any(c in message.subject for c in "\r\n"):
            raise rk.PermanentSendError("a line break in the subject")
        self.outbox.append(message)

    def close(self) -> None:
        pass


class TestAuditedStore(StoreContract):
    @pytest.fixture
    def store(self) -> rk.Store:
        return AuditedStore()

    def test_claims_are_audited(self, store: AuditedStore) -> None:
        campaign = store.add_campaign(rk.Campaign(name="audit"))
        request = rk.Request(
            campaign_id=campaign.id,
            recipient=rk.Recipient(email="ala@example.com"),
            channel=rk.Channel.EMAIL,
            address="ala@example.com",
        )
        store.add_requests([request])
        now = datetime.now(UTC)
        store.claim_requests(campaign.id, now=now, limit=5, worker_id="w1", lease_until=now)
        assert store.audit == [(now, "w1", request.id)]


class TestOutboxTransport(TransportContract):
    @pytest.fixture
    def transport(self) -> tuple[rk.Transport, Received]:
        outbox = OutboxTransport()
        return outbox, lambda: [str(m.request_id) for m in outbox.outbox]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
