"""References: how a definition points at data, without string interpolation.

A string value that starts with ``$.`` is a reference: the rest is a JMESPath
expression evaluated against the execution context::

    {"trigger": {"body": ...}, "steps": {"<step id>": <output>}, "execution": {...}}

``$`` alone is the whole context. A literal string that must start with ``$`` is
written with ``$$`` (``"$$5"`` is the text ``$5``). References yield typed values
(numbers stay numbers, objects stay objects); they are never pasted into SQL,
URLs or HTML, which is what keeps injection out.

Templates (any JSON value holding references) are compiled once, at apply time,
and rendered per execution.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import jmespath
from jmespath import functions as jp_functions
from jmespath.exceptions import JMESPathError

from bastion.errors import Invalid

PREFIX = "$."


class ExpressionError(Invalid):
    code = "invalid_expression"


class _Functions(jp_functions.Functions):  # type: ignore[misc]
    """Custom JMESPath functions (extended by later domains through ``register``)."""


_extra: dict[str, Callable[..., Any]] = {}
_options = jmespath.Options(custom_functions=_Functions())


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and (value == "$" or value.startswith(PREFIX))


def _source(ref: str) -> str:
    return "@" if ref == "$" else ref[len(PREFIX) :]


@dataclass(frozen=True)
class Reference:
    text: str
    _compiled: Any

    def evaluate(self, context: dict[str, Any]) -> Any:
        try:
            return self._compiled.search(context, options=_options)
        except JMESPathError as exc:
            raise ExpressionError(f"{self.text}: {exc}") from None

    @property
    def roots(self) -> set[tuple[str, ...]]:
        """The context roots this reference reads, e.g. {("steps", "invoice")}."""
        return _roots(self._compiled.parsed)


def compile_reference(text: str) -> Reference:
    """Compile a ``$.``-reference. Raises ExpressionError with the parser's message."""
    if not is_reference(text):
        raise ExpressionError(f"{text!r} is not a reference (it must start with '$.')")
    try:
        return Reference(text, jmespath.compile(_source(text)))
    except JMESPathError as exc:
        raise ExpressionError(f"{text!r} is not a valid expression: {_first_line(exc)}") from None


class Template:
    """A JSON value with references in it, compiled once and rendered many times."""

    def __init__(self, value: Any) -> None:
        self.value = value
        self._render = _compile(value)

    def render(self, context: dict[str, Any]) -> Any:
        return self._render(context)

    def references(self) -> list[tuple[str, Reference]]:
        """Every reference with its JSON pointer relative to the template."""
        return [(ptr, compile_reference(text)) for ptr, text in iter_references(self.value)]


def _compile(value: Any) -> Callable[[dict[str, Any]], Any]:
    if isinstance(value, str):
        if is_reference(value):
            return compile_reference(value).evaluate
        literal = value[1:] if value.startswith("$$") else value
        return lambda _ctx: literal
    if isinstance(value, dict):
        parts = [(k, _compile(v)) for k, v in value.items()]
        return lambda ctx: {k: f(ctx) for k, f in parts}
    if isinstance(value, list):
        items = [_compile(v) for v in value]
        return lambda ctx: [f(ctx) for f in items]
    return lambda _ctx: value


def iter_references(value: Any, pointer: str = "") -> Iterator[tuple[str, str]]:
    """Yield (JSON pointer, reference text) for every reference in ``value``."""
    if is_reference(value):
        yield pointer, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from iter_references(v, f"{pointer}/{_escape(str(k))}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from iter_references(v, f"{pointer}/{i}")


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


# Nodes whose first child reads the current value and whose other children read
# that child's result (a projection's right side, a filter's condition, a pipe's
# right side): only the first child can name a context root.
_SCOPED = frozenset(
    {"subexpression", "index_expression", "projection", "value_projection", "filter_projection"}
    | {"flatten", "pipe"}
)


def _roots(node: dict[str, Any]) -> set[tuple[str, ...]]:
    """Leading field chains of a parsed JMESPath AST (``steps.invoice.rows`` -> steps, invoice)."""
    chain = _field_chain(node)
    if chain:
        return {tuple(chain[:2])}
    kind = node.get("type")
    if kind == "expref":  # ``&name`` is evaluated per element, never against the context
        return set()
    children = [c for c in node.get("children", []) if isinstance(c, dict)]
    found: set[tuple[str, ...]] = set()
    for child in children[:1] if kind in _SCOPED else children:
        found |= _roots(child)
    return found


def _field_chain(node: dict[str, Any]) -> list[str]:
    """The plain field names an expression starts with: ``a.b[0].c`` -> [a, b]."""
    kind = node.get("type")
    if kind == "field":
        return [node["value"]]
    children = [c for c in node.get("children", []) if isinstance(c, dict)]
    if kind not in _SCOPED or not children:
        return []
    head = _field_chain(children[0])
    # Only ``a.b`` continues the chain: in ``a[0].b`` or ``(a || c).b``, b is not a.b.
    if kind == "subexpression" and children[0].get("type") == "field" and len(children) > 1:
        return head + _field_chain(children[1])
    return head
