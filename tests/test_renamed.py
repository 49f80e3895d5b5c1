"""The names a request had as a *delivery* still work for a release, each with a warning."""

from __future__ import annotations

import ast
import importlib
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

import reviewkit as rk
from reviewkit.domain.renamed import DeprecatedStoreNames

SRC = Path(rk.__file__).parent


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Delivery", "Request"),
        ("DeliveryStatus", "RequestStatus"),
        ("DeliveryStateError", "RequestStateError"),
    ],
)
def test_top_level_names_warn_and_resolve(old: str, new: str) -> None:
    """reviewkit.Delivery and friends are the new classes, with a DeprecationWarning naming them."""
    with pytest.warns(DeprecationWarning, match=f"use reviewkit.{new}"):
        assert getattr(rk, old) is getattr(rk, new)


def test_unknown_top_level_names_still_fail() -> None:
    """Only the renamed names resolve; a typo is still an AttributeError."""
    with pytest.raises(AttributeError, match="DELIVERY_TRANSITIONS"):
        rk.DELIVERY_TRANSITIONS  # noqa: B018 - never exported at the top level


def test_old_module_path_warns_and_resolves() -> None:
    """reviewkit.domain.delivery still imports, warns, and gives the new names."""
    sys.modules.pop("reviewkit.domain.delivery", None)
    with pytest.warns(DeprecationWarning, match="reviewkit.domain.request"):
        old = importlib.import_module("reviewkit.domain.delivery")
    assert old.Delivery is rk.Request
    assert (
        old.DELIVERY_TRANSITIONS
        is importlib.import_module("reviewkit.domain.request").REQUEST_TRANSITIONS
    )
    assert old.apply_outcome is not None


def test_errors_module_keeps_the_old_error_name() -> None:
    """reviewkit.errors.DeliveryStateError is RequestStateError, so old except clauses work."""
    import reviewkit.errors as errors

    with pytest.warns(DeprecationWarning, match="use RequestStateError"):
        assert errors.DeliveryStateError is rk.RequestStateError


@pytest.mark.parametrize("store_factory", [rk.InMemoryStore, lambda: rk.SQLiteStore(":memory:")])
def test_shipped_stores_answer_to_the_old_method_names(store_factory: object) -> None:
    """add_deliveries, get_delivery, count_deliveries … forward to the new methods."""
    store = store_factory()  # type: ignore[operator]
    assert isinstance(store, DeprecatedStoreNames)
    campaign = store.add_campaign(
        rk.Campaign(name="c", created_at=datetime(2026, 1, 1, tzinfo=UTC))
    )
    request = rk.Request(
        campaign_id=campaign.id,
        channel=rk.Channel.EMAIL,
        recipient=rk.Recipient(email="a@example.com"),
        address="a@example.com",
    )
    with pytest.warns(DeprecationWarning, match=r"add_requests\(\)"):
        assert store.add_deliveries([request]) == 1
    with pytest.warns(DeprecationWarning, match=r"get_request\(\)"):
        assert store.get_delivery(request.id).id == request.id
    with pytest.warns(DeprecationWarning, match=r"count_requests\(\)"):
        assert store.count_deliveries(campaign.id)[rk.RequestStatus.PENDING] == 1


def test_old_attribute_names_read_the_new_ones() -> None:
    """Answer.delivery_id and InMemoryStore.deliveries read the renamed attributes."""
    answer = rk.Answer(
        request_id="r1",
        campaign_id="c1",
        kind=rk.SurveyType.NPS,
        score=9,
        at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    with pytest.warns(DeprecationWarning, match="Answer.request_id"):
        assert answer.delivery_id == "r1"
    with pytest.warns(DeprecationWarning, match="InMemoryStore.requests"):
        assert rk.InMemoryStore().deliveries == []


def test_campaign_service_keeps_remove_recipients() -> None:
    """CampaignService.remove_recipients and deliveries forward, with a warning."""
    clock = rk.ManualClock(datetime(2026, 1, 5, 9, tzinfo=UTC))
    store = rk.InMemoryStore()
    service = rk.CampaignService(store, clock)
    me = rk.Actor.system(email="me@example.com")
    service.create(me, name="c", sender="s@example.com", subject="s", body="b")
    service.add_recipients(me, "c", [rk.Recipient(email="a@example.com")])
    with pytest.warns(DeprecationWarning, match=r"CampaignService.requests\(\)"):
        (pending,) = service.deliveries(me, "c")
    with pytest.warns(DeprecationWarning, match=r"remove_requests\(\)"):
        assert service.remove_recipients(me, "c", [pending.id]) == 1


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("reviewkit")}


def test_the_domain_imports_only_itself_and_the_errors() -> None:
    """No module of reviewkit.domain reaches an adapter, a service or a port."""
    for path in sorted((SRC / "domain").glob("*.py")):
        outside = {
            name
            for name in _imports(path)
            if not name.startswith("reviewkit.domain") and name != "reviewkit.errors"
        }
        assert not outside, (path.name, outside)


def test_no_service_imports_an_adapter() -> None:
    """Services see the edges only through the ports."""
    for path in sorted((SRC / "services").glob("*.py")):
        adapters = {name for name in _imports(path) if name.startswith("reviewkit.adapters")}
        assert not adapters, (path.name, adapters)
