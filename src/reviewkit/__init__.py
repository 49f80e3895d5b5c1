"""reviewkit: ask customers for feedback and act on it.

The names most users need are re-exported here; the layout below them shows the
architecture: :mod:`reviewkit.domain` (pure logic), :mod:`reviewkit.ports` (the Protocols for
every edge), :mod:`reviewkit.services` (the application layer) and :mod:`reviewkit.adapters`
(reference implementations of the ports).
"""

from __future__ import annotations

from reviewkit.adapters.clock import ManualClock, SystemClock
from reviewkit.adapters.maildir import MaildirTransport
from reviewkit.adapters.memory import InMemoryStore, InMemoryTransport
from reviewkit.domain.campaign import (
    TRANSITIONS,
    Campaign,
    CampaignEvent,
    CampaignStatus,
    Channel,
)
from reviewkit.domain.delivery import (
    Delivery,
    DeliveryStatus,
    Outcome,
    Recipient,
    RetryPolicy,
)
from reviewkit.domain.messages import OutgoingMessage
from reviewkit.domain.permissions import Actor, Permission
from reviewkit.domain.schedule import PlanRun, SendPlan, next_send_time, plan_send_times
from reviewkit.domain.suppression import Suppression, SuppressionReason
from reviewkit.domain.tokens import LinkSigner, LinkToken, TokenPurpose
from reviewkit.domain.window import HolidayCalendar, HourRange, SendWindow, load_zone
from reviewkit.errors import (
    AccountError,
    AccountVerificationError,
    CampaignReadOnlyError,
    CampaignStateError,
    ConflictError,
    DeliveryStateError,
    IllegalTransitionError,
    LeaseLostError,
    NotFoundError,
    PermanentSendError,
    PermissionDeniedError,
    ReviewkitError,
    StorageError,
    TemplateError,
    TokenError,
    TransientSendError,
    TransportError,
    ValidationError,
    WindowError,
)
from reviewkit.ports import Clock, Store, Transport
from reviewkit.services.campaigns import AddResult, CampaignService
from reviewkit.services.dispatch import Dispatcher, DispatchReport
from reviewkit.services.suppression import SuppressionService

__version__ = "0.1.0.dev0"

__all__ = [
    "TRANSITIONS",
    "AccountError",
    "AccountVerificationError",
    "Actor",
    "AddResult",
    "Campaign",
    "CampaignEvent",
    "CampaignReadOnlyError",
    "CampaignService",
    "CampaignStateError",
    "CampaignStatus",
    "Channel",
    "Clock",
    "ConflictError",
    "Delivery",
    "DeliveryStateError",
    "DeliveryStatus",
    "DispatchReport",
    "Dispatcher",
    "HolidayCalendar",
    "HourRange",
    "IllegalTransitionError",
    "InMemoryStore",
    "InMemoryTransport",
    "LeaseLostError",
    "LinkSigner",
    "LinkToken",
    "MaildirTransport",
    "ManualClock",
    "NotFoundError",
    "Outcome",
    "OutgoingMessage",
    "PermanentSendError",
    "Permission",
    "PermissionDeniedError",
    "PlanRun",
    "Recipient",
    "RetryPolicy",
    "ReviewkitError",
    "SendPlan",
    "SendWindow",
    "StorageError",
    "Store",
    "Suppression",
    "SuppressionReason",
    "SuppressionService",
    "SystemClock",
    "TemplateError",
    "TokenError",
    "TokenPurpose",
    "TransientSendError",
    "Transport",
    "TransportError",
    "ValidationError",
    "WindowError",
    "__version__",
    "load_zone",
    "next_send_time",
    "plan_send_times",
]
