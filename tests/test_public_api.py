"""The public API is curated: what ``import reviewkit`` exports is pinned here."""

from __future__ import annotations

import reviewkit
from reviewkit import ports


def test_exported_members_are_pinned() -> None:
    """Adding or removing a public name is a deliberate change to this list."""
    assert sorted(reviewkit.__all__) == sorted(
        [
            "Alert",
            "AlertRule",
            "AlertState",
            "AnswerFilter",
            "AnswerRule",
            "BurstRule",
            "DropRule",
            "Evidence",
            "LevelRule",
            "Severity",
            "TopicRule",
            "TrendRule",
            "AlertService",
            "AlertChore",
            "Attachment",
            "DeliveryEvent",
            "DeliveryEventService",
            "EventKind",
            "EventOutcome",
            "PrivacyService",
            "ConsentService",
            "ConsentChange",
            "RetentionChore",
            "RetentionPolicy",
            "RetentionService",
            "PublicationService",
            "Moderation",
            "ModerationState",
            "PublishedReview",
            "ChartRenderer",
            "MatplotlibCharts",
            "Funnel",
            "ReportMetric",
            "Recurrence",
            "RateLimitedError",
            "RenderedReport",
            "ReportChore",
            "ReportDefinition",
            "ReportFigures",
            "ReportRecipient",
            "ReportRun",
            "ReportRunStatus",
            "ReportSendSummary",
            "ReportService",
            "Scope",
            "render_report",
            "Chore",
            "Evaluation",
            "Notification",
            "Route",
            "Notifier",
            "Assignee",
            "FollowUpSurvey",
            "HTTPTaskSink",
            "Task",
            "TaskSink",
            "TaskStateError",
            "TaskChore",
            "TaskService",
            "TaskStatus",
            "Classification",
            "Classifier",
            "ClassifierService",
            "TaskTemplate",
            "SMTPTransport",
            "SQLiteStore",
            "RateLimit",
            "Secret",
            "Security",
            "SenderAccount",
            "ImportResult",
            "import_csv",
            "secret_from_env",
            "Condition",
            "HostEvent",
            "Operator",
            "TriggerRule",
            "TriggerService",
            "Answer",
            "AnswerService",
            "Period",
            "Scale",
            "Score",
            "ScoreRow",
            "ScoreService",
            "Survey",
            "SurveyClosedError",
            "SurveyPage",
            "SurveyType",
            "PUBLICATION",
            "TRANSITIONS",
            "AccountError",
            "CollectionService",
            "Consent",
            "ContactSource",
            "DateField",
            "Engagement",
            "Reminder",
            "RequestCategory",
            "RequestPage",
            "RequestQuery",
            "Search",
            "TrackingService",
            "parse_search",
            "AccountVerificationError",
            "Actor",
            "AddResult",
            "Campaign",
            "CampaignEvent",
            "CampaignReadOnlyError",
            "CampaignService",
            "CampaignStateError",
            "CampaignMode",
            "CampaignStatus",
            "Channel",
            "Clock",
            "ConfigurationError",
            "ConflictError",
            "Request",
            "RequestStateError",
            "RequestStatus",
            "DispatchReport",
            "Dispatcher",
            "HolidayCalendar",
            "HourRange",
            "IllegalTransitionError",
            "InMemoryStore",
            "InMemoryTransport",
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
            "SystemClock",
            "TemplateError",
            "TokenError",
            "TokenPurpose",
            "TransientSendError",
            "Transport",
            "TransportError",
            "ValidationError",
            "Wait",
            "WaitReason",
            "WindowError",
            "__version__",
            "load_zone",
            "next_send_time",
            "plan_send_times",
        ]
    )
    for name in reviewkit.__all__:
        assert hasattr(reviewkit, name), name


def test_every_error_has_one_root() -> None:
    """Every exception reviewkit exports derives from ReviewkitError."""
    for name in reviewkit.__all__:
        obj = getattr(reviewkit, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, reviewkit.ReviewkitError), name


def test_reference_adapters_satisfy_the_ports(tmp_path: object) -> None:
    """The shipped adapters are structurally the ports (runtime-checkable Protocols)."""
    from datetime import UTC, datetime

    assert isinstance(reviewkit.InMemoryStore(), ports.Store)
    assert isinstance(reviewkit.InMemoryTransport(), ports.Transport)
    assert isinstance(reviewkit.MaildirTransport(f"{tmp_path}/box"), ports.Transport)
    assert isinstance(reviewkit.SystemClock(), ports.Clock)
    assert isinstance(reviewkit.ManualClock(datetime(2026, 1, 1, tzinfo=UTC)), ports.Clock)


def test_names_moved_out_of_the_top_level_still_resolve_with_a_warning() -> None:
    """Internals left the top level; old imports keep working for a release, and say where
    the name lives now."""
    import pytest

    from reviewkit.domain.collection import neutralize_cell
    from reviewkit.services.tracking import PIXEL_GIF

    with pytest.warns(DeprecationWarning, match=r"reviewkit\.services\.tracking"):
        assert reviewkit.PIXEL_GIF == PIXEL_GIF
    with pytest.warns(DeprecationWarning, match=r"reviewkit\.domain\.collection"):
        assert reviewkit.neutralize_cell is neutralize_cell
    with pytest.raises(AttributeError):
        _ = reviewkit.no_such_name
