"""What cannot be sent is refused when it is set, not at every send."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.domain.headers import LINE_BREAKS
from reviewkit.services.importer import import_csv

from .conftest import make_campaign

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ recipient.name.__class__ }}",
    "{{ recipient['__class__'] }}",
    "{{ recipient.fields.__class__ }}",
    "{% set x = recipient %}{{ x.__init__ }}",
    "{{ recipient.name.no_such_method() }}",
    "{{ campaign.name.format.__globals__ }}",
]


@pytest.mark.parametrize("template", ESCAPES)
@pytest.mark.parametrize("where", ["subject", "body", "html"])
def test_sandbox_escapes_are_refused_at_create(
    service: rk.CampaignService, actor: rk.Actor, template: str, where: str
) -> None:
    """A template that reaches for the sandbox's way out is refused when it is written."""
    with pytest.raises(rk.TemplateError, match=where):
        service.create(actor, name="c", **{where: template})
    assert service.list(actor) == []


@pytest.mark.parametrize("template", ESCAPES)
def test_sandbox_escapes_are_refused_at_edit(
    service: rk.CampaignService, actor: rk.Actor, template: str
) -> None:
    """Editing a template in refuses it just the same, and keeps the old one."""
    make_campaign(service, actor, schedule=False)
    with pytest.raises(rk.TemplateError):
        service.edit(actor, "reviews", body=template)
    assert service.get(actor, "reviews").body == "Hello {{ recipient.name }}, how did we do?"


def test_fields_the_templates_read_are_required_when_adding(
    service: rk.CampaignService, actor: rk.Actor
) -> None:
    """recipient.fields.Sklep makes Sklep required: a recipient without it is refused,
    by position, and nothing of the batch is added; .get() reads an optional one."""
    make_campaign(
        service, actor, recipients=0, schedule=False,
        body="Thanks for shopping at {{ recipient.fields.Sklep }}"
             "{{ recipient.fields.get('Miasto', '') }}",
    )  # fmt: skip
    good = rk.Recipient(email="a@example.com", fields={"Sklep": "Kraków"})
    bad = rk.Recipient(email="b@example.com", fields={"Miasto": "Łódź"})
    with pytest.raises(rk.ValidationError, match=r"recipient #2: no field 'Sklep'"):
        service.add_recipients(actor, "reviews", [good, bad])
    assert service.counts(actor, "reviews")[rk.RequestStatus.PENDING] == 0
    with pytest.raises(rk.ValidationError, match="Sklep"):
        service.request(actor, "reviews", bad)
    assert service.add_recipients(actor, "reviews", [good]).added == 1


def test_import_names_the_missing_column_and_rows_without_the_field(
    service: rk.CampaignService, actor: rk.Actor, tmp_path: Path
) -> None:
    """A file without the column is refused whole; a row with it empty is a row error."""
    make_campaign(
        service, actor, recipients=0, schedule=False, body="Visit {{ recipient.fields.Sklep }}"
    )
    without = tmp_path / "without.csv"
    without.write_text("email,name\na@example.com,Ala\n", encoding="utf-8")
    with pytest.raises(rk.ValidationError, match="no 'Sklep' column"):
        import_csv(service, actor, "reviews", without)
    rows = tmp_path / "rows.csv"
    rows.write_text("email,Sklep\na@example.com,Kraków\nb@example.com,\n", encoding="utf-8")
    result = import_csv(service, actor, "reviews", rows)
    assert (result.accepted, result.rejected) == (1, 1)
    assert result.errors[0].row == 3
    assert result.errors[0].column == "Sklep"


def test_missing_optional_values_render_empty_not_none(
    service: rk.CampaignService,
    actor: rk.Actor,
    dispatcher: rk.Dispatcher,
    reviewkit_transport: rk.InMemoryTransport,
) -> None:
    """A recipient without a name or an order number gets blanks, never the word None."""
    make_campaign(service, actor, recipients=0, schedule=False)
    service.add_recipients(actor, "reviews", [rk.Recipient(email="anon@example.com")])
    service.schedule(actor, "reviews")
    dispatcher.run()
    (message,) = reviewkit_transport.sent
    assert message.subject == "How was order ?"
    assert message.text == "Hello , how did we do?"
    assert "None" not in message.text + message.subject


def test_a_field_missing_at_send_fails_that_request_with_a_clear_reason(
    service: rk.CampaignService,
    actor: rk.Actor,
    dispatcher: rk.Dispatcher,
    reviewkit_transport: rk.InMemoryTransport,
) -> None:
    """Requests added before the template read a field fail alone, naming field and template."""
    make_campaign(service, actor, recipients=2, schedule=False)
    service.edit(actor, "reviews", subject="Order at {{ recipient.fields.Sklep }}")
    service.add_recipients(
        actor, "reviews", [rk.Recipient(email="ok@example.com", fields={"Sklep": "Gdańsk"})]
    )
    service.schedule(actor, "reviews")
    report = dispatcher.run()
    assert (report.sent, report.failed) == (1, 2)
    failed = list(service.requests(actor, "reviews", {rk.RequestStatus.FAILED}))
    assert {d.last_error for d in failed} == {
        "template subject: the recipient has no field 'Sklep', which the template reads "
        "(add it to the recipient, or read it with recipient.fields.get(...))"
    }
    assert "mappingproxy" not in str(failed[0].last_error)


@pytest.mark.parametrize("setting", ["subject", "sender", "senders", "reminder"])
@given(text=st.text(min_size=1, max_size=20), brk=st.sampled_from(sorted(LINE_BREAKS)))
def test_header_values_with_line_breaks_are_refused_when_set(
    setting: str, text: str, brk: str
) -> None:
    """Subject, sender, other senders and a reminder's subject refuse any line break."""
    value = f"Shop{brk}{text}"
    kwargs: dict[str, object] = {
        "subject": {"subject": value},
        "sender": {"sender": value},
        "senders": {"senders": ("ok@shop.example", value)},
        "reminder": {"reminder": {"subject": value}},
    }[setting]
    if setting == "reminder":
        with pytest.raises(rk.ValidationError, match="line break"):
            rk.Reminder(subject=value)
        return
    with pytest.raises(rk.ValidationError, match="line break"):
        rk.Campaign(name="c", **kwargs)  # type: ignore[arg-type]


def test_a_rendered_subject_with_a_line_break_refuses_that_message(
    service: rk.CampaignService,
    actor: rk.Actor,
    dispatcher: rk.Dispatcher,
    reviewkit_transport: rk.InMemoryTransport,
) -> None:
    """A name that would inject a header fails its own request; the others are sent."""
    make_campaign(
        service, actor, recipients=0, schedule=False, subject="Hi {{ recipient.fields.nick }}"
    )
    nicks = ["Ala", "Eve\r\nBcc: all@example.com", "Olek"]
    service.add_recipients(
        actor,
        "reviews",
        [
            rk.Recipient(email=f"{n}@example.com", fields={"nick": nick})
            for n, nick in enumerate(nicks)
        ],
    )
    service.schedule(actor, "reviews")
    report = dispatcher.run()
    assert (report.sent, report.failed) == (2, 1)
    (failed,) = service.requests(actor, "reviews", {rk.RequestStatus.FAILED})
    assert "the rendered subject" in (failed.last_error or "")
    assert "line break" in (failed.last_error or "")
    assert all("Bcc" not in m.subject for m in reviewkit_transport.sent)
