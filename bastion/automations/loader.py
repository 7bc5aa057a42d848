"""Reading a definition from YAML (or JSON, which is YAML) and writing it back.

Loading reports every problem at once, each with a JSON pointer and the line it
is on, so an author can fix a file in one pass. Lines come from the composed
YAML node tree, which is also where duplicate keys (which PyYAML would quietly
resolve to the last one) are caught.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bastion.automations import validation
from bastion.automations.definition import Definition
from bastion.automations.errors import DefinitionInvalid, Problem
from bastion.automations.pointer import join, parent

MAX_BYTES = 1024 * 1024  # definitions are small; anything bigger is a mistake or an attack
MAX_DEPTH = 64  # deeper than any definition needs, and well inside JSON encoders' limits
_TIMESTAMP = "tag:yaml.org,2002:timestamp"

Lines = dict[str, int]  # JSON pointer -> 1-based line


class _AliasRefused(yaml.composer.ComposerError):
    """Valid YAML that a definition may not use."""


class _Loader(yaml.SafeLoader):
    """Safe loading, minus what a JSON document cannot hold: aliases and timestamps."""

    # Dates stay strings, so a definition read from YAML equals the same definition
    # read back from its stored JSON document.
    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        # One alias can stand for an exponentially large tree ("billion laughs"), and
        # a definition never needs one: refuse before anything walks the tree.
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in the stubs
            raise _AliasRefused(
                problem=f"aliases (*{event.anchor}) are not allowed: write the value out",
                problem_mark=event.start_mark,
            )
        return super().compose_node(parent, index)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # the loader refuses aliases, so never write one


def load_definition(text: str, source: str = "<input>") -> Definition:
    """Parse and validate a definition.

    Returns the Definition. Raises DefinitionInvalid listing every problem found:
    YAML syntax, shape (pydantic), duplicate keys and, once the shape is right,
    the whole-document checks of ``validation.check``.
    """
    data, lines, problems = _parse(text, source)
    try:
        defn = Definition.model_validate(data)
    except ValidationError as exc:
        problems += [_from_pydantic(error, lines) for error in exc.errors()]
        raise _invalid(source, problems) from None
    problems += [_located(problem, lines) for problem in validation.check(defn)]
    if problems:
        raise _invalid(source, problems)
    return defn


def dump_definition(defn: Definition) -> str:
    """The canonical document as YAML, keys in the model's field order."""
    return yaml.dump(
        defn.document(),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
    )


def _invalid(source: str, problems: list[Problem]) -> DefinitionInvalid:
    # Sorted by line (stable), so problems read top to bottom like the file.
    ordered = sorted(problems, key=lambda p: (p.line is None, p.line or 0))
    return DefinitionInvalid(source, ordered)


# -- YAML ------------------------------------------------------------------------


def _parse(text: str, source: str) -> tuple[Any, Lines, list[Problem]]:
    """The document, its pointer->line map and problems of the YAML itself (duplicates, depth).

    Raises DefinitionInvalid when there is nothing to validate: bad syntax, too big,
    not a mapping.
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise DefinitionInvalid(source, [Problem("", None, "the document is larger than 1 MiB")])
    node, data = _read(text, source)
    if node is None or not isinstance(data, dict):
        line = None if node is None else _line(node)
        raise DefinitionInvalid(source, [Problem("", line, _not_a_mapping(data))])
    lines: Lines = {}
    problems = list(_walk(node, "", _line(node), 0, lines))
    return data, lines, problems


def _read(text: str, source: str) -> tuple[Node | None, Any]:
    try:
        return _compose_and_construct(text)
    except yaml.MarkedYAMLError as exc:
        problem = _syntax_problem(exc)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        problem = Problem("", line, f"character U+{exc.character:04X} is not allowed in YAML")
    except RecursionError:
        problem = Problem("", None, f"the document is nested more than {MAX_DEPTH} levels deep")
    raise DefinitionInvalid(source, [problem])


def _compose_and_construct(text: str) -> tuple[Node | None, Any]:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return node, None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()


def _syntax_problem(exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    parts = [part for part in (exc.context, exc.problem) if part]
    message = "; ".join(parts) or "not valid YAML"
    if not isinstance(exc, _AliasRefused):
        message = f"invalid YAML: {message}"
    return Problem("", None if mark is None else mark.line + 1, message)


def _not_a_mapping(data: Any) -> str:
    if data is None:
        return "the document is empty: a definition needs name, owner, trigger and steps"
    return f"a definition is a mapping of keys (name, owner, trigger, steps), not {_kind(data)}"


def _kind(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    kinds = {bool: "true or false", int: "a number", float: "a number", str: "a string"}
    return kinds.get(type(value), "a list" if isinstance(value, list) else "a mapping")


def _walk(node: Node, pointer: str, line: int, depth: int, lines: Lines) -> Iterator[Problem]:
    """Record the line of every node under ``pointer``; yield duplicate keys and overdepth."""
    lines[pointer] = line
    if depth >= MAX_DEPTH:
        yield Problem(pointer, line, f"nested more than {MAX_DEPTH} levels deep")
        return
    yield from _duplicates(node, pointer)
    for child_pointer, child, child_line in _children(node, pointer):
        yield from _walk(child, child_pointer, child_line, depth + 1, lines)


def _children(node: Node, pointer: str) -> Iterator[tuple[str, Node, int]]:
    # A mapping entry's line is its key's: for a nested block that is the line
    # naming it ("trigger:"), not the first line of its contents.
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode):
                yield join(pointer, key.value), value, _line(key)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            yield join(pointer, index), item, _line(item)


def _duplicates(node: Node, pointer: str) -> Iterator[Problem]:
    if not isinstance(node, MappingNode):
        return
    first: dict[tuple[str, str], int] = {}
    for key, _value in node.value:
        if not isinstance(key, ScalarNode):
            continue
        ident = (key.tag, key.value)
        if ident not in first:
            first[ident] = _line(key)
            continue
        yield Problem(
            join(pointer, key.value),
            _line(key),
            f"duplicate key {key.value!r} (first on line {first[ident]}): give it only once",
        )


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


# -- problems ----------------------------------------------------------------------


def _from_pydantic(error: ErrorDetails, lines: Lines) -> Problem:
    pointer = ""
    for part in error["loc"]:
        if part != "[key]":  # pydantic's marker for "the key itself", not a child
            pointer = join(pointer, part)
    return Problem(pointer, _line_of(pointer, lines), _message(error))


def _message(error: ErrorDetails) -> str:
    kind, loc = error["type"], error["loc"]
    if kind == "missing":
        return f"missing required key {loc[-1]!r}"
    if kind == "extra_forbidden":
        return f"unknown key {loc[-1]!r}"
    if kind == "model_type":  # pydantic's text names the Python class, which means nothing here
        return f"must be a mapping, not {_kind(error['input'])}"
    return error["msg"].removeprefix("Value error, ")


def _located(problem: Problem, lines: Lines) -> Problem:
    return replace(problem, line=_line_of(problem.pointer, lines))


def _line_of(pointer: str, lines: Lines) -> int | None:
    """The line of ``pointer``, or of its closest ancestor present in the source."""
    while pointer not in lines:
        if not pointer:
            return None
        pointer = parent(pointer)
    return lines[pointer]
