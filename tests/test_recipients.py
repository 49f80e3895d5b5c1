"""Recipients and requests: adding, duplicates, removing, retrying, permissions."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.domain.contacts import normalize_email

from .conftest import make_campaign


def test_duplicates_are_counted_not_added(service: rk.CampaignService, actor: rk.Actor) -> None:
    """The same address twice on one channel is one request; the result accounts for both."""
    make_campaign(service, actor, recipients=0, schedule=False)
    result = service.add_recipients(
        actor,
        "reviews",
        [
            rk.Recipient(email="a@example.com"),
            rk.Recipient(email="A@example.com"),
            rk.Recipient(email="b@example.com"),
        ],
    )
    assert result == rk.AddResult(added=2, duplicates=1)


def test_recipient_without_address_adds_nothing(
    service: rk.CampaignService, actor: rk.Actor
) -> None:
    """One unusable recipient in a batch is reported by position and nothing is added."""
    make_campaign(service, actor, recipients=0, schedule=False)
    with pytest.raises(rk.ValidationError, match=r"recipient #2: .*no e-mail address"):
        service.add_recipients(
            actor,
            "reviews",
            [rk.Recipient(email="a@example.com"), rk.Recipient(phone="+48500100200")],
        )
    assert sum(service.counts(actor, "reviews").values()) == 0


def test_line_break_in_recipient_is_refused() -> None:
    """Header-bound fields refuse line breaks at the door."""
    with pytest.raises(rk.ValidationError, match="line break"):
        rk.Recipient(email="a@example.com\r\nBcc: x@example.com")


def test_remove_only_pending(
    service: rk.CampaignService, actor: rk.Actor, dispatcher: rk.Dispatcher
) -> None:
    """Pending requests can be removed; a sent one cannot, and then nothing changes."""
    make_campaign(service, actor, recipients=3)
    dispatcher.dispatch_due()  # sends one (30 s pacing)
    sent = next(service.requests(actor, "reviews", {rk.RequestStatus.SENT}))
    pending = [d.id for d in service.requests(actor, "reviews", {rk.RequestStatus.PENDING})]
    with pytest.raises(rk.RequestStateError, match="only pending"):
        service.remove_requests(actor, "reviews", [pending[0], sent.id])
    assert service.counts(actor, "reviews")[rk.RequestStatus.PENDING] == 2
    assert service.remove_requests(actor, "reviews", pending) == 2
    assert service.counts(actor, "reviews")[rk.RequestStatus.CANCELLED] == 2


def test_retry_failed_selected_and_all_reopens_completed(
    service: rk.CampaignService,
    actor: rk.Actor,
    dispatcher: rk.Dispatcher,
    reviewkit_transport: rk.InMemoryTransport,
) -> None:
    """Failed requests can be retried, a selection or all; a completed campaign reopens."""
    make_campaign(service, actor, recipients=3)
    reviewkit_transport.fail_next(2, kind=rk.PermanentSendError)
    dispatcher.run()
    assert service.get(actor, "reviews").status is rk.CampaignStatus.COMPLETED
    failed = [d.id for d in service.requests(actor, "reviews", {rk.RequestStatus.FAILED})]
    assert len(failed) == 2
    assert service.retry_failed(actor, "reviews", [failed[0]]) == 1
    assert service.get(actor, "reviews").active
    assert service.retry_failed(actor, "reviews") == 1
    dispatcher.run()
    assert service.counts(actor, "reviews")[rk.RequestStatus.SENT] == 3
    assert len(reviewkit_transport.sent) == 3


class TestPermissions:
    @pytest.mark.parametrize(
        ("permission", "call"),
        [
            (rk.Permission.VIEW_CAMPAIGN, lambda s, a: s.get(a, "reviews")),
            (rk.Permission.CREATE_CAMPAIGN, lambda s, a: s.create(a, name="other")),
            (rk.Permission.EDIT_CAMPAIGN, lambda s, a: s.edit(a, "reviews", subject="x")),
            (rk.Permission.EDIT_CAMPAIGN, lambda s, a: s.pause(a, "reviews")),
            (rk.Permission.DELETE_CAMPAIGN, lambda s, a: s.delete(a, "reviews")),
            (rk.Permission.ADD_RECIPIENT, lambda s, a: s.add_recipients(a, "reviews", [])),
            (rk.Permission.REMOVE_RECIPIENT, lambda s, a: s.remove_requests(a, "reviews", [])),
        ],
    )
    def test_action_without_permission_is_denied(
        self, service: rk.CampaignService, actor: rk.Actor, permission: rk.Permission, call: object
    ) -> None:
        """Each action needs its permission; without it PermissionDeniedError names it."""
        make_campaign(service, actor, schedule=False)
        others = frozenset(rk.Permission) - {permission}
        weak = rk.Actor(id="clerk", permissions=others)
        with pytest.raises(rk.PermissionDeniedError, match=permission.value):
            call(service, weak)  # type: ignore[operator]

    def test_viewer_can_view_but_not_edit(
        self, service: rk.CampaignService, actor: rk.Actor
    ) -> None:
        """A view-only user reads campaigns and nothing else."""
        make_campaign(service, actor, schedule=False)
        viewer = rk.Actor(id="viewer", permissions={rk.Permission.VIEW_CAMPAIGN})
        assert service.get(viewer, "reviews").name == "reviews"
        with pytest.raises(rk.PermissionDeniedError, match="'viewer' may not schedule"):
            service.schedule(viewer, "reviews")


recipient_strategy = st.builds(
    rk.Recipient,
    email=st.one_of(
        st.none(),
        st.emails(),
        st.text(max_size=20).filter(lambda s: not any(c in s for c in "\n\r\x00")),
    ),
    name=st.one_of(
        st.none(),
        st.text(max_size=20).filter(lambda s: not any(c in s for c in "\n\r\x00")),
    ),
    transaction_id=st.one_of(st.none(), st.text(max_size=10).filter(lambda s: "\x00" not in s)),
)


@pytest.mark.parametrize("field", ["name", "transaction_id", "segment", "chat_id"])
def test_a_nul_character_is_refused_naming_the_field(field: str) -> None:
    """A NUL in a recipient's text is refused when the recipient is made, naming the field,
    before any store sees it."""
    with pytest.raises(rk.ValidationError, match=f"{field.replace('_', ' ')} .*NUL character"):
        rk.Recipient(email="a@example.com", **{field: "A\x00B"})


_TEXT_FIELDS = ("email", "phone", "name", "transaction_id", "timezone", "segment", "chat_id")


@given(
    texts=st.fixed_dictionaries(
        {}, optional={f: st.text(alphabet="ab\r\n\x00", max_size=4) for f in _TEXT_FIELDS}
    )
)
def test_control_characters_are_refused_exactly_where_they_break_something(
    texts: dict[str, str],
) -> None:
    """A recipient is refused iff a header-bound field (e-mail, phone, name, segment) holds a
    line break or any text field holds a NUL; a line break elsewhere (a transaction id) is
    kept."""
    texts.pop("timezone", None)  # a zone must also be a real one; its NUL rule is the same
    broken = any(c in texts.get(f, "") for f in ("email", "phone", "name", "segment")
                 for c in "\r\n") or any("\x00" in v for v in texts.values())  # fmt: skip
    if broken:
        with pytest.raises(rk.ValidationError, match=r"line break|NUL character"):
            rk.Recipient(**texts)
    else:
        made = rk.Recipient(**texts)
        assert {field: getattr(made, field) for field in texts} == texts


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(recipient_strategy, max_size=6), min_size=1, max_size=4))
def test_adding_batches_is_all_or_nothing(
    service: rk.CampaignService, actor: rk.Actor, batches: list[list[rk.Recipient]]
) -> None:
    """Each batch is added whole, or not at all when one is unusable; nothing stored is lost.
    One request per transaction (per address for recipients without one)."""
    name = f"c{uuid.uuid4().hex}"
    service.create(actor, name=name)
    expected: set[str] = set()
    for batch in batches:
        normalized = [_normalized(r.email) for r in batch]
        usable = all(normalized)
        try:
            result = service.add_recipients(actor, name, batch)
        except rk.ValidationError:
            assert not usable
        else:
            assert usable
            keys = {
                f"t:{r.transaction_id}" if r.transaction_id else f"a:{a.casefold()}"
                for r, a in zip(batch, normalized, strict=True)
                if a
            }
            new = keys - expected
            assert result.added == len(new)
            assert result.added + result.duplicates == len(batch)
            expected |= new
        stored = {d.request_key for d in service.requests(actor, name)}
        assert stored == expected


def _normalized(address: str | None) -> str | None:
    if not address:
        return None
    try:
        return normalize_email(address)
    except rk.ValidationError:
        return None
