"""reviewkit: ask customers for feedback and act on it.

The names most users need are re-exported here; the layout below them shows the
architecture: :mod:`reviewkit.domain` (pure logic), :mod:`reviewkit.ports` (the Protocols for
every edge), :mod:`reviewkit.services` (the application layer) and :mod:`reviewkit.adapters`
(reference implementations of the ports).
"""

from __future__ import annotations

from reviewkit.adapters.accounts import RateLimit, Security, SenderAccount, secret_from_env
from reviewkit.adapters.clock import ManualClock, SystemClock
from reviewkit.adapters.maildir import MaildirTransport
from reviewkit.adapters.memory import InMemoryStore, InMemoryTransport
from reviewkit.adapters.smtp import SMTPTransport
from reviewkit.adapters.sqlite import SQLiteStore
from reviewkit.adapters.tracker import HTTPTaskSink
from reviewkit.domain.alerts import (
    Alert,
    AlertRule,
    AlertState,
    AnswerFilter,
    AnswerRule,
    BurstRule,
    DropRule,
    Evidence,
    LevelRule,
    Severity,
    TrendRule,
)
from reviewkit.domain.answers import Answer
from reviewkit.domain.campaign import (
    TRANSITIONS,
    Campaign,
    CampaignEvent,
    CampaignMode,
    CampaignStatus,
    Channel,
    Reminder,
)
from reviewkit.domain.classifiers import Classification, Classifier, TaskTemplate
from reviewkit.domain.collection import (
    DateField,
    RequestPage,
    RequestQuery,
    Search,
    parse_search,
)
from reviewkit.domain.consent import PUBLICATION, Consent
from reviewkit.domain.messages import OutgoingMessage
from reviewkit.domain.notifications import Notification, Route
from reviewkit.domain.permissions import Actor, Permission
from reviewkit.domain.renamed import RENAMED, warn_renamed
from reviewkit.domain.request import (
    Engagement,
    Outcome,
    Recipient,
    Request,
    RequestCategory,
    RequestStatus,
    RetryPolicy,
)
from reviewkit.domain.schedule import PlanRun, SendPlan, next_send_time, plan_send_times
from reviewkit.domain.scoring import Period, Score
from reviewkit.domain.secret import Secret
from reviewkit.domain.suppression import Suppression, SuppressionReason
from reviewkit.domain.survey import Scale, Survey, SurveyType
from reviewkit.domain.tasks import Assignee, Task, TaskStatus
from reviewkit.domain.tokens import LinkSigner, LinkToken, TokenPurpose
from reviewkit.domain.triggers import Condition, HostEvent, Operator, TriggerRule
from reviewkit.domain.window import HolidayCalendar, HourRange, SendWindow, load_zone
from reviewkit.errors import (
    AccountError,
    AccountVerificationError,
    CampaignReadOnlyError,
    CampaignStateError,
    ConfigurationError,
    ConflictError,
    IllegalTransitionError,
    NotFoundError,
    PermanentSendError,
    PermissionDeniedError,
    RequestStateError,
    ReviewkitError,
    StaleVersionError,
    StorageBusyError,
    StorageError,
    StorageFullError,
    StorageReadOnlyError,
    StorageUnavailableError,
    SurveyClosedError,
    TaskStateError,
    TemplateError,
    TokenError,
    TransientSendError,
    TransportError,
    ValidationError,
    WindowError,
)
from reviewkit.ports import Chore, Clock, ContactSource, Notifier, Store, TaskSink, Transport
from reviewkit.services.alerts import AlertChore, AlertService, Evaluation
from reviewkit.services.answers import AnswerService, SurveyPage
from reviewkit.services.campaigns import AddResult, CampaignService
from reviewkit.services.classifiers import ClassifierService
from reviewkit.services.collection import CollectionService
from reviewkit.services.dispatch import Dispatcher, DispatchReport
from reviewkit.services.importer import ImportResult, import_csv
from reviewkit.services.scores import ScoreRow, ScoreService
from reviewkit.services.suppression import SuppressionService
from reviewkit.services.tasks import FollowUpSurvey, TaskService
from reviewkit.services.tracking import TrackingService
from reviewkit.services.triggers import TriggerService

__version__ = "0.1.0.dev0"

__all__ = [
    "PUBLICATION",
    "TRANSITIONS",
    "AccountError",
    "AccountVerificationError",
    "Actor",
    "AddResult",
    "Alert",
    "AlertChore",
    "AlertRule",
    "AlertService",
    "AlertState",
    "Answer",
    "AnswerFilter",
    "AnswerRule",
    "AnswerService",
    "Assignee",
    "BurstRule",
    "Campaign",
    "CampaignEvent",
    "CampaignMode",
    "CampaignReadOnlyError",
    "CampaignService",
    "CampaignStateError",
    "CampaignStatus",
    "Channel",
    "Chore",
    "Classification",
    "Classifier",
    "ClassifierService",
    "Clock",
    "CollectionService",
    "Condition",
    "ConfigurationError",
    "ConflictError",
    "Consent",
    "ContactSource",
    "DateField",
    "DispatchReport",
    "Dispatcher",
    "DropRule",
    "Engagement",
    "Evaluation",
    "Evidence",
    "FollowUpSurvey",
    "HTTPTaskSink",
    "HolidayCalendar",
    "HostEvent",
    "HourRange",
    "IllegalTransitionError",
    "ImportResult",
    "InMemoryStore",
    "InMemoryTransport",
    "LevelRule",
    "LinkSigner",
    "LinkToken",
    "MaildirTransport",
    "ManualClock",
    "NotFoundError",
    "Notification",
    "Notifier",
    "Operator",
    "Outcome",
    "OutgoingMessage",
    "Period",
    "PermanentSendError",
    "Permission",
    "PermissionDeniedError",
    "PlanRun",
    "RateLimit",
    "Recipient",
    "Reminder",
    "Request",
    "RequestCategory",
    "RequestPage",
    "RequestQuery",
    "RequestStateError",
    "RequestStatus",
    "RetryPolicy",
    "ReviewkitError",
    "Route",
    "SMTPTransport",
    "SQLiteStore",
    "Scale",
    "Score",
    "ScoreRow",
    "ScoreService",
    "Search",
    "Secret",
    "Security",
    "SendPlan",
    "SendWindow",
    "SenderAccount",
    "Severity",
    "StaleVersionError",
    "StorageBusyError",
    "StorageError",
    "StorageFullError",
    "StorageReadOnlyError",
    "StorageUnavailableError",
    "Store",
    "Suppression",
    "SuppressionReason",
    "SuppressionService",
    "Survey",
    "SurveyClosedError",
    "SurveyPage",
    "SurveyType",
    "SystemClock",
    "Task",
    "TaskService",
    "TaskSink",
    "TaskStateError",
    "TaskStatus",
    "TaskTemplate",
    "TemplateError",
    "TokenError",
    "TokenPurpose",
    "TrackingService",
    "TransientSendError",
    "Transport",
    "TransportError",
    "TrendRule",
    "TriggerRule",
    "TriggerService",
    "ValidationError",
    "WindowError",
    "__version__",
    "import_csv",
    "load_zone",
    "next_send_time",
    "parse_search",
    "plan_send_times",
    "secret_from_env",
]


_MOVED = {
    "PIXEL_GIF": "reviewkit.services.tracking",
    "neutralize_cell": "reviewkit.domain.collection",
}


def __getattr__(name: str) -> object:
    """Names that moved out of the top level still resolve, with a DeprecationWarning."""
    if RENAMED.get(name) in __all__:
        warn_renamed(f"reviewkit.{name}", f"reviewkit.{RENAMED[name]}")
        return globals()[RENAMED[name]]
    if name in _MOVED:
        import importlib
        import warnings

        warnings.warn(
            f"reviewkit.{name} is deprecated; import it from {_MOVED[name]}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module 'reviewkit' has no attribute {name!r}")
