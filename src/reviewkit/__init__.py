"""reviewkit: ask customers for feedback and act on it.

The names most users need are re-exported here; the layout below them shows the
architecture: :mod:`reviewkit.domain` (pure logic), :mod:`reviewkit.ports` (the Protocols for
every edge), :mod:`reviewkit.services` (the application layer) and :mod:`reviewkit.adapters`
(reference implementations of the ports).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when first used (see __getattr__), so `import reviewkit` is quick
    from reviewkit.adapters.accounts import RateLimit, Security, SenderAccount, secret_from_env
    from reviewkit.adapters.charts import MatplotlibCharts
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
        TopicRule,
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
    from reviewkit.domain.consent import PUBLICATION, Consent, ConsentChange
    from reviewkit.domain.events import DeliveryEvent, EventKind
    from reviewkit.domain.messages import Attachment, OutgoingMessage
    from reviewkit.domain.notifications import Notification, Route
    from reviewkit.domain.permissions import Actor, Permission
    from reviewkit.domain.publication import Moderation, ModerationState, PublishedReview
    from reviewkit.domain.reports import (
        Funnel,
        Recurrence,
        ReportDefinition,
        ReportFigures,
        ReportMetric,
        ReportRecipient,
        ReportRun,
        ReportRunStatus,
        Scope,
    )
    from reviewkit.domain.request import (
        Engagement,
        Outcome,
        Recipient,
        Request,
        RequestCategory,
        RequestStatus,
        RetryPolicy,
    )
    from reviewkit.domain.retention import RetentionPolicy
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
        RateLimitedError,
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
    from reviewkit.ports import (
        ChartRenderer,
        Chore,
        Clock,
        ContactSource,
        Notifier,
        Store,
        TaskSink,
        Transport,
    )
    from reviewkit.services.alerts import AlertChore, AlertService, Evaluation
    from reviewkit.services.answers import AnswerService, SurveyPage
    from reviewkit.services.campaigns import AddResult, CampaignService
    from reviewkit.services.classifiers import ClassifierService
    from reviewkit.services.collection import CollectionService
    from reviewkit.services.consent import ConsentService
    from reviewkit.services.dispatch import Dispatcher, DispatchReport, Wait, WaitReason
    from reviewkit.services.events import DeliveryEventService, EventOutcome
    from reviewkit.services.importer import ImportResult, import_csv
    from reviewkit.services.privacy import PrivacyService
    from reviewkit.services.publication import PublicationService
    from reviewkit.services.report_render import RenderedReport, render_report
    from reviewkit.services.reports import ReportChore, ReportSendSummary, ReportService
    from reviewkit.services.retention import RetentionChore, RetentionService
    from reviewkit.services.scores import ScoreRow, ScoreService
    from reviewkit.services.suppression import SuppressionService
    from reviewkit.services.tasks import FollowUpSurvey, TaskChore, TaskService
    from reviewkit.services.tracking import TrackingService
    from reviewkit.services.triggers import TriggerService


__version__ = "0.1.0.dev0"

_LAZY = {
    "RateLimit": "reviewkit.adapters.accounts",
    "Security": "reviewkit.adapters.accounts",
    "SenderAccount": "reviewkit.adapters.accounts",
    "secret_from_env": "reviewkit.adapters.accounts",
    "ManualClock": "reviewkit.adapters.clock",
    "SystemClock": "reviewkit.adapters.clock",
    "MaildirTransport": "reviewkit.adapters.maildir",
    "InMemoryStore": "reviewkit.adapters.memory",
    "InMemoryTransport": "reviewkit.adapters.memory",
    "SMTPTransport": "reviewkit.adapters.smtp",
    "SQLiteStore": "reviewkit.adapters.sqlite",
    "HTTPTaskSink": "reviewkit.adapters.tracker",
    "Alert": "reviewkit.domain.alerts",
    "AlertRule": "reviewkit.domain.alerts",
    "AlertState": "reviewkit.domain.alerts",
    "AnswerFilter": "reviewkit.domain.alerts",
    "AnswerRule": "reviewkit.domain.alerts",
    "BurstRule": "reviewkit.domain.alerts",
    "DropRule": "reviewkit.domain.alerts",
    "Evidence": "reviewkit.domain.alerts",
    "LevelRule": "reviewkit.domain.alerts",
    "Severity": "reviewkit.domain.alerts",
    "TopicRule": "reviewkit.domain.alerts",
    "TrendRule": "reviewkit.domain.alerts",
    "Answer": "reviewkit.domain.answers",
    "TRANSITIONS": "reviewkit.domain.campaign",
    "Campaign": "reviewkit.domain.campaign",
    "CampaignEvent": "reviewkit.domain.campaign",
    "CampaignMode": "reviewkit.domain.campaign",
    "CampaignStatus": "reviewkit.domain.campaign",
    "Channel": "reviewkit.domain.campaign",
    "Reminder": "reviewkit.domain.campaign",
    "Classification": "reviewkit.domain.classifiers",
    "Classifier": "reviewkit.domain.classifiers",
    "TaskTemplate": "reviewkit.domain.classifiers",
    "DateField": "reviewkit.domain.collection",
    "RequestPage": "reviewkit.domain.collection",
    "RequestQuery": "reviewkit.domain.collection",
    "Search": "reviewkit.domain.collection",
    "parse_search": "reviewkit.domain.collection",
    "PUBLICATION": "reviewkit.domain.consent",
    "Consent": "reviewkit.domain.consent",
    "ConsentChange": "reviewkit.domain.consent",
    "ConsentService": "reviewkit.services.consent",
    "OutgoingMessage": "reviewkit.domain.messages",
    "Attachment": "reviewkit.domain.messages",
    "Notification": "reviewkit.domain.notifications",
    "DeliveryEvent": "reviewkit.domain.events",
    "EventKind": "reviewkit.domain.events",
    "DeliveryEventService": "reviewkit.services.events",
    "EventOutcome": "reviewkit.services.events",
    "PrivacyService": "reviewkit.services.privacy",
    "RetentionChore": "reviewkit.services.retention",
    "RetentionService": "reviewkit.services.retention",
    "RetentionPolicy": "reviewkit.domain.retention",
    "PublicationService": "reviewkit.services.publication",
    "Moderation": "reviewkit.domain.publication",
    "ModerationState": "reviewkit.domain.publication",
    "PublishedReview": "reviewkit.domain.publication",
    "Funnel": "reviewkit.domain.reports",
    "ReportMetric": "reviewkit.domain.reports",
    "Recurrence": "reviewkit.domain.reports",
    "ReportDefinition": "reviewkit.domain.reports",
    "ReportFigures": "reviewkit.domain.reports",
    "ReportRecipient": "reviewkit.domain.reports",
    "ReportRun": "reviewkit.domain.reports",
    "ReportRunStatus": "reviewkit.domain.reports",
    "Scope": "reviewkit.domain.reports",
    "ReportChore": "reviewkit.services.reports",
    "ReportSendSummary": "reviewkit.services.reports",
    "ReportService": "reviewkit.services.reports",
    "RenderedReport": "reviewkit.services.report_render",
    "render_report": "reviewkit.services.report_render",
    "Route": "reviewkit.domain.notifications",
    "Actor": "reviewkit.domain.permissions",
    "Permission": "reviewkit.domain.permissions",
    "Engagement": "reviewkit.domain.request",
    "Outcome": "reviewkit.domain.request",
    "Recipient": "reviewkit.domain.request",
    "Request": "reviewkit.domain.request",
    "RequestCategory": "reviewkit.domain.request",
    "RequestStatus": "reviewkit.domain.request",
    "RetryPolicy": "reviewkit.domain.request",
    "PlanRun": "reviewkit.domain.schedule",
    "SendPlan": "reviewkit.domain.schedule",
    "next_send_time": "reviewkit.domain.schedule",
    "plan_send_times": "reviewkit.domain.schedule",
    "Period": "reviewkit.domain.scoring",
    "Score": "reviewkit.domain.scoring",
    "Secret": "reviewkit.domain.secret",
    "Suppression": "reviewkit.domain.suppression",
    "SuppressionReason": "reviewkit.domain.suppression",
    "Scale": "reviewkit.domain.survey",
    "Survey": "reviewkit.domain.survey",
    "SurveyType": "reviewkit.domain.survey",
    "Assignee": "reviewkit.domain.tasks",
    "Task": "reviewkit.domain.tasks",
    "TaskStatus": "reviewkit.domain.tasks",
    "LinkSigner": "reviewkit.domain.tokens",
    "LinkToken": "reviewkit.domain.tokens",
    "TokenPurpose": "reviewkit.domain.tokens",
    "Condition": "reviewkit.domain.triggers",
    "HostEvent": "reviewkit.domain.triggers",
    "Operator": "reviewkit.domain.triggers",
    "TriggerRule": "reviewkit.domain.triggers",
    "HolidayCalendar": "reviewkit.domain.window",
    "HourRange": "reviewkit.domain.window",
    "SendWindow": "reviewkit.domain.window",
    "load_zone": "reviewkit.domain.window",
    "AccountError": "reviewkit.errors",
    "AccountVerificationError": "reviewkit.errors",
    "CampaignReadOnlyError": "reviewkit.errors",
    "CampaignStateError": "reviewkit.errors",
    "ConfigurationError": "reviewkit.errors",
    "ConflictError": "reviewkit.errors",
    "IllegalTransitionError": "reviewkit.errors",
    "NotFoundError": "reviewkit.errors",
    "PermanentSendError": "reviewkit.errors",
    "PermissionDeniedError": "reviewkit.errors",
    "RequestStateError": "reviewkit.errors",
    "ReviewkitError": "reviewkit.errors",
    "StaleVersionError": "reviewkit.errors",
    "StorageBusyError": "reviewkit.errors",
    "StorageError": "reviewkit.errors",
    "StorageFullError": "reviewkit.errors",
    "StorageReadOnlyError": "reviewkit.errors",
    "StorageUnavailableError": "reviewkit.errors",
    "SurveyClosedError": "reviewkit.errors",
    "TaskStateError": "reviewkit.errors",
    "TemplateError": "reviewkit.errors",
    "TokenError": "reviewkit.errors",
    "RateLimitedError": "reviewkit.errors",
    "TransientSendError": "reviewkit.errors",
    "TransportError": "reviewkit.errors",
    "ValidationError": "reviewkit.errors",
    "WindowError": "reviewkit.errors",
    "Chore": "reviewkit.ports",
    "Clock": "reviewkit.ports",
    "ContactSource": "reviewkit.ports",
    "Notifier": "reviewkit.ports",
    "ChartRenderer": "reviewkit.ports",
    "MatplotlibCharts": "reviewkit.adapters.charts",
    "Store": "reviewkit.ports",
    "TaskSink": "reviewkit.ports",
    "Transport": "reviewkit.ports",
    "AlertChore": "reviewkit.services.alerts",
    "AlertService": "reviewkit.services.alerts",
    "Evaluation": "reviewkit.services.alerts",
    "AnswerService": "reviewkit.services.answers",
    "SurveyPage": "reviewkit.services.answers",
    "AddResult": "reviewkit.services.campaigns",
    "CampaignService": "reviewkit.services.campaigns",
    "ClassifierService": "reviewkit.services.classifiers",
    "CollectionService": "reviewkit.services.collection",
    "Dispatcher": "reviewkit.services.dispatch",
    "DispatchReport": "reviewkit.services.dispatch",
    "Wait": "reviewkit.services.dispatch",
    "WaitReason": "reviewkit.services.dispatch",
    "ImportResult": "reviewkit.services.importer",
    "import_csv": "reviewkit.services.importer",
    "ScoreRow": "reviewkit.services.scores",
    "ScoreService": "reviewkit.services.scores",
    "SuppressionService": "reviewkit.services.suppression",
    "FollowUpSurvey": "reviewkit.services.tasks",
    "TaskChore": "reviewkit.services.tasks",
    "TaskService": "reviewkit.services.tasks",
    "TrackingService": "reviewkit.services.tracking",
    "TriggerService": "reviewkit.services.triggers",
}

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
    "Attachment",
    "BurstRule",
    "Campaign",
    "CampaignEvent",
    "CampaignMode",
    "CampaignReadOnlyError",
    "CampaignService",
    "CampaignStateError",
    "CampaignStatus",
    "Channel",
    "ChartRenderer",
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
    "ConsentChange",
    "ConsentService",
    "ContactSource",
    "DateField",
    "DeliveryEvent",
    "DeliveryEventService",
    "DispatchReport",
    "Dispatcher",
    "DropRule",
    "Engagement",
    "Evaluation",
    "EventKind",
    "EventOutcome",
    "Evidence",
    "FollowUpSurvey",
    "Funnel",
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
    "MatplotlibCharts",
    "Moderation",
    "ModerationState",
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
    "PrivacyService",
    "PublicationService",
    "PublishedReview",
    "RateLimit",
    "RateLimitedError",
    "Recipient",
    "Recurrence",
    "Reminder",
    "RenderedReport",
    "ReportChore",
    "ReportDefinition",
    "ReportFigures",
    "ReportMetric",
    "ReportRecipient",
    "ReportRun",
    "ReportRunStatus",
    "ReportSendSummary",
    "ReportService",
    "Request",
    "RequestCategory",
    "RequestPage",
    "RequestQuery",
    "RequestStateError",
    "RequestStatus",
    "RetentionChore",
    "RetentionPolicy",
    "RetentionService",
    "RetryPolicy",
    "ReviewkitError",
    "Route",
    "SMTPTransport",
    "SQLiteStore",
    "Scale",
    "Scope",
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
    "TaskChore",
    "TaskService",
    "TaskSink",
    "TaskStateError",
    "TaskStatus",
    "TaskTemplate",
    "TemplateError",
    "TokenError",
    "TokenPurpose",
    "TopicRule",
    "TrackingService",
    "TransientSendError",
    "Transport",
    "TransportError",
    "TrendRule",
    "TriggerRule",
    "TriggerService",
    "ValidationError",
    "Wait",
    "WaitReason",
    "WindowError",
    "__version__",
    "import_csv",
    "load_zone",
    "next_send_time",
    "parse_search",
    "plan_send_times",
    "render_report",
    "secret_from_env",
]


_MOVED = {
    "PIXEL_GIF": "reviewkit.services.tracking",
    "neutralize_cell": "reviewkit.domain.collection",
}


def __getattr__(name: str) -> object:
    """The public names, imported on first use; names that moved out of the top level still
    resolve, with a DeprecationWarning."""
    import importlib

    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups find it without this function
        return value
    from reviewkit.domain.renamed import RENAMED, warn_renamed

    if RENAMED.get(name) in __all__:
        warn_renamed(f"reviewkit.{name}", f"reviewkit.{RENAMED[name]}")
        return __getattr__(RENAMED[name])
    if name in _MOVED:
        import warnings

        warnings.warn(
            f"reviewkit.{name} is deprecated; import it from {_MOVED[name]}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module 'reviewkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
