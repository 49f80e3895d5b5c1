"""A mountable WSGI application for the links in survey requests.

Routes, below wherever it is mounted:

- ``GET  /a/<token>``: the answer page — the question, the scale (pre-selected when the
  token came from a one-click score link), a comment box, a submit button.
- ``POST /a/<token>``: records the answer, then redirects to ``/thanks``.
- ``GET  /thanks``: the thank-you page.
- ``GET  /u/<token>``: asks to confirm unsubscribing; ``POST /u/<token>`` unsubscribes
  (also the RFC 8058 one-click POST mail programs send).
- ``GET  /o/<token>``: the open pixel (always the image; recorded when the token is good).
- ``GET  /s/<token>``: an open survey link's answer page (a QR code at the till, a kiosk);
  ``POST /s/<token>`` records the answer with the link's location as its segment. With
  ``one_answer_per_device``, a cookie lets the same browser change its answer instead of
  adding another; ``open_link_rate`` caps the answers a minute through one link.

Plain HTML that works without JavaScript and on a phone, every control labelled for screen
readers. Standard library only: mount it in any WSGI server, or inside Flask or Django (see
``docs/answers.md``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import logging
from collections.abc import Callable, Iterable
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from reviewkit.domain.campaign import Channel
from reviewkit.domain.tokens import TokenPurpose
from reviewkit.errors import (
    NotFoundError,
    RateLimitedError,
    ReviewkitError,
    StorageError,
    SurveyClosedError,
    TokenError,
    ValidationError,
)
from reviewkit.services.answers import AnswerService, SurveyPage
from reviewkit.services.tracking import PIXEL_GIF, TrackingService

__all__ = ["make_app"]

log = logging.getLogger("reviewkit.web")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_MAX_BODY = 16_384
_TEXTS = {
    "en": {
        "send": "Send",
        "comment": "Anything you would like to add? (optional)",
        "thanks": "Thank you for your answer!",
        "thanks_more": "It helps us get better.",
        "privacy": "Privacy policy",
        "unsubscribe": "Stop messages like this",
        "unsubscribe_confirm": "Do you want to stop receiving review requests at this address?",
        "unsubscribed": "You will not receive such messages any more.",
        "closed": "This survey is closed.",
        "closed_more": "It no longer takes answers. Thank you for wanting to tell us!",
        "expired": "This link has expired.",
        "expired_more": "Survey links work for a limited time after the message is sent.",
        "gone": "This request no longer exists.",
        "invalid": "This link is not valid.",
        "invalid_more": "Open the link from the message again, or copy the whole address "
        "into your browser.",
        "chosen": "Your current answer",
        "busy": "Please try again in a minute.",
    },
    "pl": {
        "send": "Wyślij",
        "comment": "Chcesz coś dodać? (opcjonalnie)",
        "thanks": "Dziękujemy za odpowiedź!",
        "thanks_more": "Pomaga nam to działać lepiej.",
        "privacy": "Polityka prywatności",
        "unsubscribe": "Nie wysyłaj mi takich wiadomości",
        "unsubscribe_confirm": "Czy chcesz przestać otrzymywać prośby o opinię na ten adres?",
        "unsubscribed": "Nie będziesz już otrzymywać takich wiadomości.",
        "closed": "Ta ankieta jest już zamknięta.",
        "closed_more": "Nie przyjmuje już odpowiedzi. Dziękujemy, że chcesz się podzielić opinią!",
        "expired": "Ten link wygasł.",
        "expired_more": "Linki do ankiet działają przez ograniczony czas od wysłania wiadomości.",
        "gone": "Ta prośba już nie istnieje.",
        "invalid": "Ten link jest nieprawidłowy.",
        "invalid_more": "Otwórz link z wiadomości jeszcze raz albo skopiuj do przeglądarki "
        "cały adres.",
        "chosen": "Twoja obecna odpowiedź",
        "busy": "Spróbuj ponownie za minutę.",
    },
}

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:40rem;margin:0 auto;padding:1rem;line-height:1.5}
fieldset{border:0;padding:0;margin:0 0 1rem}
legend{font-size:1.25rem;font-weight:600;margin-bottom:.75rem}
.scale{display:flex;flex-wrap:wrap;gap:.4rem}
.scale label{display:flex;align-items:center;justify-content:center;min-width:2.75rem;
min-height:2.75rem;border:2px solid #555;border-radius:.4rem;cursor:pointer;font-size:1.1rem}
.scale input{position:absolute;opacity:0;width:1px;height:1px}
.scale input:checked+span{font-weight:700;text-decoration:underline}
.scale label:has(input:checked){background:#1a4d8f;color:#fff;border-color:#1a4d8f}
.scale input:focus-visible+span{outline:3px solid #e0a000;outline-offset:4px}
.ends{display:flex;justify-content:space-between;font-size:.9rem;color:#444;margin-top:.3rem}
textarea{width:100%;min-height:6rem;font:inherit;box-sizing:border-box}
button{font:inherit;font-size:1.1rem;padding:.6rem 1.4rem;margin-top:1rem;min-height:2.75rem}
.error{color:#a00000;font-weight:600}
"""
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode("utf-8")).digest()).decode("ascii")
# Nothing but this page's own style and form: no scripts, no plug-ins, no framing.
_CSP = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class _BadBodyError(ValidationError):
    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def make_app(
    answers: AnswerService,
    *,
    language: str = "en",
    one_answer_per_device: bool = True,
    open_link_rate: int | None = 30,
) -> WSGIApp:
    """Return the WSGI application for *answers* (its store, clock and link signer).

    :param language: the language of pages that have no survey to take it from (the
        thank-you page, errors): ``"en"`` or ``"pl"``.
    :param one_answer_per_device: on open survey links, remember a browser's answer in a
        cookie, so answering again changes it rather than adding one.
    :param open_link_rate: at most this many answers a minute through one open survey
        link (``None``: no limit).
    """
    tracking = TrackingService(answers.store, answers.clock, answers.links)
    default = _TEXTS.get(language, _TEXTS["en"])

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        parts = environ.get("PATH_INFO", "/").strip("/").split("/")
        route, token = parts[0], "/".join(parts[1:])
        try:
            if route == "o" and method == "GET":
                with contextlib.suppress(ReviewkitError):  # a broken link still gets its image
                    tracking.opened(token)
                return _respond(start_response, "200 OK", PIXEL_GIF, "image/gif")
            if route == "thanks" and method == "GET":
                chosen = parse_qs(environ.get("QUERY_STRING", "")).get("lang", [language])[0]
                lang = chosen if chosen in _TEXTS else language
                texts = _TEXTS.get(lang, default)
                body = f"<h1>{_e(texts['thanks'])}</h1><p>{_e(texts['thanks_more'])}</p>"
                return _page(start_response, "200 OK", texts["thanks"], body, lang)
            if route == "s" and token and method in ("GET", "POST"):
                return _open_link(
                    answers, environ, start_response, token, one_answer_per_device, open_link_rate
                )
            if route == "a" and token and method == "GET":
                query = parse_qs(environ.get("QUERY_STRING", ""))
                page = answers.page(token)
                asked = _int(query.get("score", [""])[0])
                chosen = page.score if asked is None else asked
                return _answer_page(start_response, page, token, chosen, None, None)
            if route == "a" and token and method == "POST":
                form = _read_form(environ)  # before the token: the body is read either way
                page = answers.page(token)  # a bad token or a closed survey: handled below
                try:
                    answers.answer(
                        page, score=form.get("score") or None, comment=form.get("comment")
                    )
                except ValidationError as exc:
                    asked = _int(form.get("score", ""))
                    return _answer_page(
                        start_response, page, token, asked, form.get("comment"), str(exc)
                    )
                return _thanks_redirect(start_response, environ, page, [])
            if route == "u" and token and method == "GET":
                texts = default
                body = (
                    f"<h1>{_e(texts['unsubscribe'])}</h1><p>{_e(texts['unsubscribe_confirm'])}</p>"
                    f'<form method="post"><button type="submit">{_e(texts["unsubscribe"])}'
                    "</button></form>"
                )
                return _page(start_response, "200 OK", texts["unsubscribe"], body, language)
            if route == "u" and token and method == "POST":
                _read_form(environ)  # RFC 8058 sends "List-Unsubscribe=One-Click"; unused
                tracking.unsubscribed(token)
                body = f"<h1>{_e(default['unsubscribed'])}</h1>"
                return _page(start_response, "200 OK", default["unsubscribed"], body, language)
        except RateLimitedError as exc:
            log.info("answer page: %s", exc)
            body = f"<h1>{_e(default['busy'])}</h1>"
            return _page(start_response, "429 Too Many Requests", default["busy"], body, language)
        except SurveyClosedError as exc:
            log.info("answer page: %s", exc)
            lang = exc.language if exc.language in _TEXTS else language
            texts = _TEXTS.get(lang, default)
            body = f"<h1>{_e(texts['closed'])}</h1><p>{_e(texts['closed_more'])}</p>"
            return _page(start_response, "410 Gone", texts["closed"], body, lang)
        except NotFoundError:
            # The request (or its whole campaign) was deleted after the message was sent.
            title = default["closed"] if route == "a" else default["gone"]
            return _page(start_response, "410 Gone", title, f"<h1>{_e(title)}</h1>", language)
        except _BadBodyError as exc:
            log.info("answer page: %s", exc)
            body = f"<h1>{_e(default['invalid'])}</h1><p>{_e(str(exc))}</p>"
            return _page(start_response, exc.status, default["invalid"], body, language)
        except StorageError as exc:
            log.error("answer page: %s", exc)
            body = f"<h1>{_e(default['busy'])}</h1>"
            return _page(start_response, "503 Service Unavailable", default["busy"], body, language)
        except (TokenError, ValidationError) as exc:
            # The customer is told what they can do; the technical reason is for the log.
            log.info("answer page refused a link: %s", exc)
            expired = isinstance(exc, TokenError) and exc.reason == "expired"
            title, more = ("expired", "expired_more") if expired else ("invalid", "invalid_more")
            lang = _language_of(answers, exc) or language
            texts = _TEXTS.get(lang, default)
            body = f"<h1>{_e(texts[title])}</h1><p>{_e(texts[more])}</p>"
            status = "410 Gone" if expired else "400 Bad Request"
            return _page(start_response, status, texts[title], body, lang)
        return _page(start_response, "404 Not Found", "Not found", "<h1>Not found</h1>", language)

    return app


def _language_of(answers: AnswerService, exc: ReviewkitError) -> str | None:
    """The survey language of an expired (but authentic) link, when it can be found."""
    token = exc.token if isinstance(exc, TokenError) else None
    if token is None:
        return None
    try:
        if token.purpose is TokenPurpose.SURVEY:
            campaign = answers.store.get_campaign(token.request_id)
        else:
            request = answers.store.get_request(token.request_id)
            campaign = answers.store.get_campaign(request.campaign_id)
    except ReviewkitError:
        return None
    language = campaign.survey.language if campaign.survey else None
    return language if language in _TEXTS else None


def _open_link(
    answers: AnswerService,
    environ: dict[str, Any],
    start_response: StartResponse,
    token: str,
    per_device: bool,
    per_minute: int | None,
) -> Iterable[bytes]:
    """An open survey link's page (GET) or answer (POST)."""
    posted = environ.get("REQUEST_METHOD", "GET").upper() == "POST"
    form = _read_form(environ) if posted else {}  # the body is read whatever follows
    link = answers.open_page(token)  # a bad link or a cancelled campaign: raised to the app
    earlier = _device_page(answers, environ, token) if per_device else None
    if not posted:
        return _answer_page(start_response, earlier or link, token, None, None, None)
    comment = form.get("comment")
    try:
        if earlier is not None:
            answers.answer(earlier, score=form.get("score") or None, comment=comment)
            return _thanks_redirect(start_response, environ, link, [])
        answer = answers.answer_open(
            link, score=form.get("score") or None, comment=comment, per_minute=per_minute
        )
    except ValidationError as exc:
        asked = _int(form.get("score", ""))
        return _answer_page(start_response, earlier or link, token, asked, comment, str(exc))
    cookies = []
    if per_device:
        cookies.append(_device_cookie(answers, environ, token, answer.request_id))
    return _thanks_redirect(start_response, environ, link, cookies)


def _thanks_redirect(
    start_response: StartResponse,
    environ: dict[str, Any],
    page: SurveyPage,
    cookies: list[tuple[str, str]],
) -> Iterable[bytes]:
    location = environ.get("SCRIPT_NAME", "").rstrip("/") + "/thanks"
    if page.survey.language in _TEXTS:
        location += f"?lang={page.survey.language}"
    start_response(
        "303 See Other",
        [("Location", location), ("Content-Length", "0"), *cookies, *_SAFETY],
    )
    return [b""]


def _cookie_name(token: str) -> str:
    """One cookie per open link: a browser may answer at several stores."""
    return "rk_" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]


def _device_page(answers: AnswerService, environ: dict[str, Any], token: str) -> SurveyPage | None:
    """The page of the answer this browser already gave through the open link *token*, if
    its cookie holds a good answer token for a request of the link's campaign."""
    jar = SimpleCookie()
    try:
        jar.load(environ.get("HTTP_COOKIE", ""))
    except CookieError:
        return None
    morsel = jar.get(_cookie_name(token))
    if morsel is None:
        return None
    try:
        page = answers.page(morsel.value)
        link = answers.links.verify(token, purpose=TokenPurpose.SURVEY, now=answers.clock.now())
    except (ReviewkitError, ValueError):
        return None  # expired, closed, deleted or forged: answer as a new device
    same = page.request.campaign_id == link.request_id
    return page if same and page.request.channel is Channel.LINK else None


def _device_cookie(
    answers: AnswerService, environ: dict[str, Any], token: str, request_id: str
) -> tuple[str, str]:
    now = answers.clock.now()
    request = answers.store.get_request(request_id)
    campaign = answers.store.get_campaign(request.campaign_id)
    assert campaign.survey is not None
    ttl = campaign.survey.open_for
    value = answers.links.sign(TokenPurpose.ANSWER, request_id, now=now, ttl=ttl)
    path = environ.get("SCRIPT_NAME", "").rstrip("/") + "/s/"
    secure = "; Secure" if environ.get("wsgi.url_scheme") == "https" else ""
    cookie = (
        f"{_cookie_name(token)}={value}; Path={path}; Max-Age={int(ttl.total_seconds())}; "
        f"HttpOnly; SameSite=Lax{secure}"
    )
    return ("Set-Cookie", cookie)


def _answer_page(
    start_response: StartResponse,
    page: SurveyPage,
    token: str,
    chosen: int | None,
    comment: str | None,
    error: str | None,
) -> Iterable[bytes]:
    survey = page.survey
    texts = _TEXTS.get(survey.language, _TEXTS["en"])
    scale = survey.scale
    if chosen is None and page.current is not None:
        chosen = page.current.score
    options = "".join(
        f'<label for="score-{n}"><input type="radio" name="score" id="score-{n}" value="{n}"'
        f'{" checked" if n == chosen else ""} aria-describedby="ends" required>'
        f"<span>{n}</span></label>"
        for n in scale
    )
    heading = f"<h1>{_e(survey.title)}</h1>" if survey.title else ""
    subtitle = f"<p>{_e(survey.subtitle)}</p>" if survey.subtitle else ""
    problem = f'<p class="error" role="alert">{_e(error)}</p>' if error else ""
    comment_box = ""
    if survey.comment:
        prompt = survey.comment_prompt or texts["comment"]
        comment_box = (
            f'<p><label for="comment">{_e(prompt)}</label></p>'
            f'<textarea id="comment" name="comment" maxlength="2000">'
            f"{_e(comment or (page.current.comment if page.current else '') or '')}</textarea>"
        )
    body = (
        f"{heading}{subtitle}{problem}"
        f'<form method="post" action="{_e(token)}">'
        f"<fieldset><legend>{_e(survey.question_text)}</legend>"
        f'<div class="scale" role="radiogroup">{options}</div>'
        f'<div class="ends" id="ends"><span>{scale.low} = {_e(scale.low_label)}</span>'
        f"<span>{scale.high} = {_e(scale.high_label)}</span></div></fieldset>"
        f"{comment_box}"
        f'<button type="submit">{_e(texts["send"])}</button></form>'
        f'<p><a href="{_e(survey.privacy_url)}">{_e(texts["privacy"])}</a></p>'
    )
    status = "422 Unprocessable Entity" if error else "200 OK"
    return _page(
        start_response, status, survey.title or survey.question_text, body, survey.language
    )


def _page(
    start_response: StartResponse, status: str, title: str, body: str, language: str
) -> Iterable[bytes]:
    document = (
        f'<!doctype html><html lang="{_e(language)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    return _respond(start_response, status, document.encode("utf-8"), "text/html; charset=utf-8")


def _respond(
    start_response: StartResponse, status: str, body: bytes, content_type: str
) -> Iterable[bytes]:
    start_response(
        status,
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            *_SAFETY,
            *([("Retry-After", "60")] if status.startswith(("503", "429")) else []),
        ],
    )
    return [body]


_SAFETY = [
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", _CSP),
]


def _read_form(environ: dict[str, Any]) -> dict[str, str]:
    """The url-encoded form of a POST: at most :data:`_MAX_BODY` bytes are ever read, whatever
    the request's headers say."""
    declared = environ.get("CONTENT_LENGTH") or "0"
    try:
        length = int(declared)
    except ValueError:
        raise _BadBodyError("400 Bad Request", f"bad Content-Length {declared[:20]!r}") from None
    if length < 0:
        raise _BadBodyError("400 Bad Request", f"bad Content-Length {length}")
    if length > _MAX_BODY:
        raise _BadBodyError("413 Content Too Large", f"the form is over {_MAX_BODY} bytes")
    raw = environ["wsgi.input"].read(length) if length else b""
    fields = parse_qs(raw.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {key: values[0] for key, values in fields.items()}


def _int(text: str) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _e(text: str) -> str:
    return html.escape(text, quote=True)
