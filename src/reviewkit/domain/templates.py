"""Message templates: jinja2 in a sandbox, checked when a campaign is validated.

A template sees ``recipient`` (``name``, ``email``, ``phone``, ``transaction_id``,
``timezone`` and the free-form ``fields`` mapping), ``campaign`` (``name``) and ``links``
(``unsubscribe``: the signed unsubscribe link, when the campaign has an unsubscribe URL). Reading
anything else is refused by :func:`check_template` with the template's name, the line and the
variable, long before a message is sent, and so is reading an attribute that starts with an
underscore (the way out of a sandbox). HTML bodies are autoescaped.

A missing optional value (a recipient without a name or a transaction id) renders as an empty
string, never as ``None``. A custom field read as ``recipient.fields.NAME`` (or
``recipient.fields["NAME"]``) is *required*: :func:`required_fields` lists them, and a
recipient without one is refused when it is added. Read an optional field with
``recipient.fields.get("NAME", "")``.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from reviewkit.errors import TemplateError

__all__ = [
    "CONTEXT_NAMES",
    "RECIPIENT_ATTRIBUTES",
    "check_template",
    "render_template",
    "required_fields",
    "sample_render_problem",
]

CONTEXT_NAMES = frozenset({"recipient", "campaign", "links", "survey"})
"""The top-level names a template may read."""
RECIPIENT_ATTRIBUTES = frozenset(
    {"name", "email", "phone", "transaction_id", "timezone", "segment", "fields"}
)
"""What a template may read from ``recipient``."""
CAMPAIGN_ATTRIBUTES = frozenset({"name"})

LINK_NAMES = frozenset({"unsubscribe", "answer", "open"})
"""What a template may read from ``links``."""

SURVEY_ATTRIBUTES = frozenset(
    {
        "question",
        "title",
        "subtitle",
        "button",
        "low_label",
        "high_label",
        "privacy_url",
        "options",
        "url",
        "expiry_days",
    }
)
"""What a template may read from ``survey`` (``options``: ``score`` and one-click ``url``)."""

_ALLOWED = {
    "recipient": RECIPIENT_ATTRIBUTES,
    "campaign": CAMPAIGN_ATTRIBUTES,
    "links": LINK_NAMES,
    "survey": SURVEY_ATTRIBUTES,
}


def _blank_none(value: Any) -> Any:
    """What ``{{ … }}`` prints: an absent optional value is empty, never "None"."""
    return "" if value is None else value


MAX_RANGE = 1_000
"""The longest ``range()`` a template may make."""
MAX_LOOP_DEPTH = 2
"""How deeply ``{% for %}`` loops may nest."""
MAX_OUTPUT = 512 * 1024
"""The most characters one template may render."""
MAX_STEPS = 100_000
"""The most pieces of output plus calls one rendering may take: the budget that stops a
template that loops for long, whatever data it meets."""


class _Budget:
    """The work left to one rendering (a counter, not a clock: the same template and data
    always stop at the same point)."""

    def __init__(self) -> None:
        self.steps = MAX_STEPS

    def spend(self) -> None:
        self.steps -= 1
        if self.steps < 0:
            raise _BudgetExceededError(f"the template did more than {MAX_STEPS} steps of work")


class _BudgetExceededError(Exception):
    pass


_BUDGET: ContextVar[_Budget | None] = ContextVar("reviewkit_template_budget", default=None)


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox with a work budget on every call a template makes, and on the operators
    that can build a huge value in one step (``"x" * 10**9``, ``9 ** 9 ** 9``)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                repeated = isinstance(seq, str | list | tuple) and isinstance(times, int)
                if repeated and len(seq) * times > MAX_OUTPUT:
                    raise _BudgetExceededError(
                        f"repeating a value {times} times exceeds {MAX_OUTPUT} characters"
                    )
        elif (
            isinstance(left, int)
            and isinstance(right, int)
            and right * max(abs(left), 2).bit_length() > 64_000
        ):
            raise _BudgetExceededError(f"{left} ** {right} is too large a number")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - jinja2's own signature
        budget = _BUDGET.get()
        if budget is not None:
            budget.spend()
        return super().call(__context, __obj, *args, **kwargs)


def _small_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise _BudgetExceededError(f"range() of {len(numbers)} numbers; at most {MAX_RANGE}")
    return numbers


def _environment(autoescape: bool) -> ImmutableSandboxedEnvironment:
    env = _Sandbox(
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        finalize=_blank_none,
    )
    env.globals["range"] = _small_range
    return env


_TEXT = _environment(autoescape=False)
_HTML = _environment(autoescape=True)


def check_template(name: str, source: str, *, html: bool = False) -> None:
    """Check that *source* parses and reads only names that will exist.

    :param name: the template's name for error messages (``"subject"``, ``"body"``, ``"html"``).
    :raises TemplateError: naming the template, the line and the variable.
    """
    env = _HTML if html else _TEXT
    try:
        tree = env.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(exc.message or "syntax error", template=name, line=exc.lineno) from exc
    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    for node in tree.find_all(nodes.Name):
        if node.ctx != "load" or node.name in assigned or node.name in env.globals:
            continue
        if node.name not in CONTEXT_NAMES:
            raise TemplateError(
                f"unknown variable {node.name!r}; a template can read "
                f"{', '.join(sorted(CONTEXT_NAMES))}",
                template=name,
                line=node.lineno,
                variable=node.name,
            )
    for attr in tree.find_all(nodes.Getattr):
        if attr.attr.startswith("_"):
            raise TemplateError(
                f"attribute {attr.attr!r} is private: a template cannot read names that start "
                "with an underscore",
                template=name,
                line=attr.lineno,
                variable=attr.attr,
            )
        if isinstance(attr.node, nodes.Name) and attr.node.name in _ALLOWED:
            allowed = _ALLOWED[attr.node.name]
            if attr.attr not in allowed and attr.node.name not in assigned:
                raise TemplateError(
                    f"unknown variable '{attr.node.name}.{attr.attr}'; {attr.node.name} has "
                    f"{', '.join(sorted(allowed))}",
                    template=name,
                    line=attr.lineno,
                    variable=f"{attr.node.name}.{attr.attr}",
                )
    for linked in tree.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
        raise TemplateError(
            "a message template stands alone: include, import and extends are not available",
            template=name,
            line=linked.lineno,
        )
    depth = _loop_depth(tree)
    if depth > MAX_LOOP_DEPTH:
        raise TemplateError(f"for-loops nest {depth} deep; at most {MAX_LOOP_DEPTH}", template=name)
    for item in tree.find_all(nodes.Getitem):
        key = item.arg.value if isinstance(item.arg, nodes.Const) else None
        if isinstance(key, str) and key.startswith("_"):
            raise TemplateError(
                f"item {key!r} is private: a template cannot read names that start with an "
                "underscore",
                template=name,
                line=item.lineno,
                variable=key,
            )
    _compile(source, html)


def _loop_depth(node: nodes.Node) -> int:
    inner = max((_loop_depth(child) for child in node.iter_child_nodes()), default=0)
    return inner + 1 if isinstance(node, nodes.For) else inner


def _is_fields(node: nodes.Node) -> bool:
    return (
        isinstance(node, nodes.Getattr)
        and node.attr == "fields"
        and isinstance(node.node, nodes.Name)
        and node.node.name == "recipient"
    )


@lru_cache(maxsize=256)
def required_fields(source: str) -> frozenset[str]:
    """Return the custom fields *source* reads as ``recipient.fields.NAME`` or
    ``recipient.fields["NAME"]``: a recipient without one of them cannot be rendered.

    A template that does not parse reads none (:func:`check_template` reports it).
    """
    try:
        tree = _TEXT.parse(source)
    except jinja2.TemplateSyntaxError:
        return frozenset()
    # recipient.fields.get("NAME") calls a method: it reads an optional field.
    called = {id(call.node) for call in tree.find_all(nodes.Call)}
    names = {
        n.attr for n in tree.find_all(nodes.Getattr) if _is_fields(n.node) and id(n) not in called
    }
    for item in tree.find_all(nodes.Getitem):
        key = item.arg.value if isinstance(item.arg, nodes.Const) else None
        if _is_fields(item.node) and isinstance(key, str):
            names.add(key)
    return frozenset(names)


@lru_cache(maxsize=256)
def _compile(source: str, html: bool) -> jinja2.Template:
    return (_HTML if html else _TEXT).from_string(source)


def render_template(
    name: str, source: str, context: Mapping[str, Any], *, html: bool = False
) -> str:
    """Render *source* with *context*, within the budget (:data:`MAX_STEPS`,
    :data:`MAX_OUTPUT`, :data:`MAX_RANGE`).

    :raises TemplateError: for whatever stops the rendering: something missing (a
        ``fields`` key the recipient lacks), an operation the sandbox refuses, the budget
        spent, or an error in the template's own expressions (a division by zero); the
        message names the template and the cause.
    """
    try:
        return _render(source, html, context)
    except jinja2.UndefinedError as exc:
        raise TemplateError(exc.message or "undefined value", template=name) from exc
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(exc.message or "syntax error", template=name, line=exc.lineno) from exc
    except jinja2.exceptions.SecurityError as exc:
        raise TemplateError(f"refused by the sandbox: {exc}", template=name) from exc
    except _BudgetExceededError as exc:
        raise TemplateError(f"over its budget: {exc}", template=name) from exc
    except (RecursionError, MemoryError) as exc:
        raise TemplateError(f"over its budget: {type(exc).__name__}", template=name) from exc
    except Exception as exc:  # any error of the template's own fails this request alone
        raise TemplateError(
            f"rendering failed: {type(exc).__name__}: {exc}", template=name
        ) from exc


def sample_render_problem(
    name: str, source: str, context: Mapping[str, Any], *, html: bool = False
) -> TemplateError | None:
    """Render *source* for a sample context; return what would stop it for *every*
    recipient (a name that is undefined, what the sandbox refuses, the budget), or ``None``.

    Errors that depend on the data (arithmetic on a field) are not reported: the sample's
    values are not a customer's.
    """
    try:
        render_template(name, source, context, html=html)
    except TemplateError as exc:
        cause = exc.__cause__
        if isinstance(cause, jinja2.TemplateError | _BudgetExceededError):
            return exc
    return None


def _render(source: str, html: bool, context: Mapping[str, Any]) -> str:
    budget = _Budget()
    token = _BUDGET.set(budget)
    try:
        out: list[str] = []
        size = 0
        for chunk in _compile(source, html).generate(context):
            budget.spend()
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise _BudgetExceededError(f"output longer than {MAX_OUTPUT} characters")
            out.append(chunk)
        return "".join(out)
    finally:
        _BUDGET.reset(token)
