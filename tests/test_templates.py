"""Templates: sandboxed, autoescaped, refused early with template, line and variable."""

from __future__ import annotations

import pytest

import reviewkit as rk
from reviewkit.domain.templates import check_template, render_template


def test_unknown_variable_names_template_line_and_variable() -> None:
    """An unknown top-level name is refused with where it is."""
    with pytest.raises(rk.TemplateError) as info:
        check_template("body", "Hello\n{{ customer_name }}")
    assert info.value.template == "body"
    assert info.value.line == 2
    assert info.value.variable == "customer_name"
    assert "body, line 2" in str(info.value)


def test_unknown_recipient_attribute_is_refused() -> None:
    """A typo in a recipient attribute is caught before sending."""
    with pytest.raises(rk.TemplateError, match=r"recipient\.nmae"):
        check_template("subject", "Hi {{ recipient.nmae }}")


def test_syntax_error_is_refused_with_line() -> None:
    """A template that does not parse names its line."""
    with pytest.raises(rk.TemplateError, match="line 3"):
        check_template("html", "a\nb\n{% if %}", html=True)


def test_loop_variables_are_allowed() -> None:
    """Names a template assigns itself are not unknown."""
    check_template("body", "{% for k, v in recipient.fields.items() %}{{ k }}={{ v }}{% endfor %}")


def test_html_is_autoescaped_text_is_not() -> None:
    """Data in HTML bodies is escaped; plain text is left alone."""
    recipient = rk.Recipient(email="a@example.com", name="<b>Ala</b>")
    assert render_template("html", "{{ recipient.name }}", {"recipient": recipient}, html=True) == (
        "&lt;b&gt;Ala&lt;/b&gt;"
    )
    assert render_template("body", "{{ recipient.name }}", {"recipient": recipient}) == "<b>Ala</b>"


def test_sandbox_refuses_unsafe_access() -> None:
    """The sandbox refuses reaching into Python internals."""
    recipient = rk.Recipient(email="a@example.com")
    with pytest.raises(rk.TemplateError, match=r"sandbox|undefined"):
        render_template("body", "{{ recipient.__class__.__mro__ }}", {"recipient": recipient})


def test_create_refuses_a_broken_template(actor: rk.Actor, service: rk.CampaignService) -> None:
    """A broken template is refused when the campaign is created, and nothing is stored."""
    with pytest.raises(rk.TemplateError, match="subject"):
        service.create(actor, name="broken", subject="{{ oops", body="b")
    assert service.list(actor) == []
