"""Survey definitions: NPS, CSAT and CES.

The type fixes the scale, its end labels and the default question; English and Polish texts
are shipped, other languages come from the host (``question``, ``labels``). A survey is
checked when it is defined — its privacy-policy URL, and for a chat channel the limits a
Messenger-style feedback template imposes — not when a request is sent.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import attrs

from reviewkit.errors import ValidationError

__all__ = ["CHAT_LIMITS", "DEFAULT_SCALES", "MAX_COMMENT", "Scale", "Survey", "SurveyType"]

MAX_COMMENT = 2_000
"""The longest comment an answer may carry (outside the chat channel's own limit)."""


class SurveyType(enum.StrEnum):
    """What a survey measures."""

    NPS = "nps"
    """Net Promoter Score: how likely to recommend, 0 to 10."""
    CSAT = "csat"
    """Customer satisfaction with one interaction, 1 to 5."""
    CES = "ces"
    """Customer effort: how easy it was, 1 to 7 (or 1 to 5)."""


DEFAULT_SCALES = {SurveyType.NPS: (0, 10), SurveyType.CSAT: (1, 5), SurveyType.CES: (1, 7)}
"""The lowest and highest score of each survey type (a CES survey may ask 1 to 5 instead)."""


@attrs.frozen
class Scale:
    """The scores a survey accepts, from *low* to *high*, and the labels of both ends."""

    low: int
    high: int
    low_label: str
    high_label: str

    def __contains__(self, score: object) -> bool:
        return (
            isinstance(score, int)
            and not isinstance(score, bool)
            and self.low <= score <= self.high
        )

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.low, self.high + 1))

    def __len__(self) -> int:
        return self.high - self.low + 1


_TEXTS: dict[tuple[SurveyType, str], tuple[str, str, str, str]] = {
    # (question, low label, high label, button)
    (SurveyType.NPS, "en"): (
        "How likely are you to recommend us to a friend or colleague?",
        "Not at all likely",
        "Extremely likely",
        "Rate us",
    ),
    (SurveyType.NPS, "pl"): (
        "Jak bardzo prawdopodobne jest, że polecisz nas znajomemu?",
        "Zdecydowanie nie",
        "Zdecydowanie tak",
        "Oceń nas",
    ),
    (SurveyType.CSAT, "en"): (
        "How satisfied are you with our service?",
        "Very dissatisfied",
        "Very satisfied",
        "Rate us",
    ),
    (SurveyType.CSAT, "pl"): (
        "Jak bardzo jesteś zadowolony z naszej obsługi?",
        "Bardzo niezadowolony",
        "Bardzo zadowolony",
        "Oceń nas",
    ),
    (SurveyType.CES, "en"): (
        "How easy was it to resolve your issue?",
        "Very difficult",
        "Very easy",
        "Rate us",
    ),
    (SurveyType.CES, "pl"): (
        "Jak łatwo było załatwić Twoją sprawę?",
        "Bardzo trudno",
        "Bardzo łatwo",
        "Oceń nas",
    ),
}

LANGUAGES = frozenset(language for _, language in _TEXTS)
"""Languages whose texts reviewkit ships."""

CHAT_LIMITS = {
    "title": (1, 65),
    "subtitle": (0, 80),
    "button_text": (1, 20),
    "question": (5, 85),
    "expiry_days": (1, 7),
    "comment": (0, 400),
}
"""Length limits (characters; days for the expiry) of a Messenger-style feedback template."""


def _check_privacy_url(_: object, __: attrs.Attribute[str], value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc or any(c in value for c in ' \r\n<>"'):
        raise ValidationError(
            f"privacy-policy URL {value!r} must be a valid https:// URL (it is required)"
        )


def _check_language(_: object, __: attrs.Attribute[str], value: str) -> None:
    if not value or not value.isalpha():
        raise ValidationError(f"language {value!r} must be a code like 'en' or 'pl'")


@attrs.frozen(kw_only=True)
class Survey:
    """One survey: what is asked, on which scale, and the texts around it.

    :param type: NPS, CSAT or CES.
    :param privacy_url: the privacy policy (required, https).
    :param title: shown above the question (a chat template's title).
    :param subtitle: what exactly is rated.
    :param button_text: the button that opens the survey; the language's default if empty.
    :param expiry_days: how long answers are accepted after the request is sent.
    :param question: overrides the type's question.
    :param labels: override the scale's end labels, ``(low, high)``.
    :param comment: whether a free-text comment may follow the score; its prompt is
        ``comment_prompt``.
    :param comment_author: whose name the host shows on the answer.
    :param language: ``"en"`` or ``"pl"`` for the shipped texts; another language needs
        ``question``, ``labels`` and ``button_text``.
    :param ces_points: 7 (default) or 5, for CES only.
    """

    type: SurveyType = attrs.field(converter=SurveyType)
    privacy_url: str = attrs.field(validator=_check_privacy_url)
    title: str = ""
    subtitle: str = ""
    button_text: str = ""
    expiry_days: int = attrs.field(default=7, validator=attrs.validators.ge(1))
    question: str | None = None
    labels: tuple[str, str] | None = attrs.field(
        default=None,
        converter=attrs.converters.optional(tuple),
    )
    comment: bool = True
    comment_prompt: str = ""
    comment_author: str | None = None
    language: str = attrs.field(default="en", validator=_check_language)
    ces_points: int = 7

    def __attrs_post_init__(self) -> None:
        if self.ces_points not in (5, 7) or (
            self.type is not SurveyType.CES and self.ces_points != 7
        ):
            raise ValidationError(f"ces_points is 7 or 5, and only for CES, not {self.ces_points}")
        if (self.type, self.language) not in _TEXTS and not (
            self.question and self.labels and self.button_text
        ):
            raise ValidationError(
                f"no {self.language!r} texts are shipped ({', '.join(sorted(LANGUAGES))} are): "
                "give question, labels and button_text"
            )
        if self.labels is not None and len(self.labels) != 2:
            raise ValidationError("labels are two texts: (low end, high end)")
        for name in ("title", "subtitle", "button_text", "question", "comment_prompt"):
            value = getattr(self, name) or ""
            if "\r" in value or ("\n" in value and name != "comment_prompt"):
                raise ValidationError(f"survey {name} cannot contain a line break")

    def _texts(self) -> tuple[str, str, str, str]:
        return _TEXTS.get((self.type, self.language)) or _TEXTS[(self.type, "en")]

    @property
    def scale(self) -> Scale:
        """The scores this survey accepts, with the end labels."""
        _, low_label, high_label, _ = self._texts()
        low_label, high_label = self.labels or (low_label, high_label)
        low, high = DEFAULT_SCALES[self.type]
        if self.type is SurveyType.CES:
            high = self.ces_points
        return Scale(low, high, low_label, high_label)

    @property
    def question_text(self) -> str:
        """The question as the customer sees it."""
        return self.question or self._texts()[0]

    @property
    def button(self) -> str:
        """The button's text."""
        return self.button_text or self._texts()[3]

    @property
    def open_for(self) -> timedelta:
        """How long after a request is sent its survey takes answers (its links live as long)."""
        return timedelta(days=self.expiry_days)

    def closes_at(self, asked_at: datetime) -> datetime:
        """When a survey asked at *asked_at* stops taking answers."""
        return asked_at + self.open_for

    def checked_score(self, value: int | str) -> int:
        """*value* as a score on this survey's scale.

        :raises ValidationError: not a whole number, or off the scale.
        """
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValidationError(f"score {value!r} is not a whole number") from None
        if number not in self.scale:
            raise ValidationError(
                f"score {number} is not on the {self.type.name} scale "
                f"{self.scale.low} to {self.scale.high}"
            )
        return number

    def checked_comment(self, comment: str | None, *, chat: bool = False) -> str | None:
        """*comment* trimmed (``None`` when empty), if this survey takes it.

        :param chat: the answer came from the chat channel, whose comments are shorter.
        :raises ValidationError: the survey takes no comment, or the comment is too long.
        """
        text = (comment or "").strip() or None
        if text is None:
            return None
        if not self.comment:
            raise ValidationError("this survey does not take a comment")
        limit = CHAT_LIMITS["comment"][1] if chat else MAX_COMMENT
        if len(text) > limit:
            raise ValidationError(f"the comment is {len(text)} characters; at most {limit}")
        return text

    def check_for_chat(self) -> None:
        """Check the limits of a Messenger-style feedback template (:data:`CHAT_LIMITS`).

        :raises ValidationError: naming each text that is too long or too short.
        """
        values = {
            "title": len(self.title),
            "subtitle": len(self.subtitle),
            "button_text": len(self.button),
            "question": len(self.question_text),
            "expiry_days": self.expiry_days,
            "comment": len(self.comment_prompt),
        }
        wrong = []
        for name, (low, high) in CHAT_LIMITS.items():
            if not low <= values[name] <= high:
                unit = "days" if name == "expiry_days" else "characters"
                wrong.append(f"{name} is {values[name]} {unit}, allowed {low} to {high}")
        if wrong:
            raise ValidationError(
                "survey does not fit a chat feedback template: " + "; ".join(wrong)
            )
