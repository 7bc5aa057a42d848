"""Checks that need the whole definition, run after the pydantic models accept it.

Each check returns problems rather than raising, so an author sees every
mistake at once. Problems carry a JSON pointer and no line: the loader, which
knows the source text, fills the line in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

# jsonschema ships no type information and pyproject's mypy overrides do not list it.
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from bastion.automations.definition import Definition, HttpOptions, Step
from bastion.automations.errors import Problem
from bastion.automations.expressions import (
    ExpressionError,
    compile_reference,
    is_reference,
    iter_references,
)
from bastion.automations.pointer import join

END = "end"  # a branch target meaning "stop here"; the engine uses the same word
ROOTS = ("trigger", "steps", "execution")  # the execution context's top-level keys


def check(defn: Definition) -> list[Problem]:
    """Every whole-document problem in ``defn``, in a stable order; empty when it is sound."""
    checks = (
        _step_ids,
        _branches,
        _conditions,
        _references,
        _http,
        _schemas,
        _schedule,
        _waits,
    )
    return [problem for run in checks for problem in run(defn)]


def _problem(pointer: str, message: str) -> Problem:
    return Problem(pointer, None, message)


def _step_pointer(index: int, *tokens: str) -> str:
    pointer = join("/steps", index)
    for token in tokens:
        pointer = join(pointer, token)
    return pointer


# -- step ids and branches ---------------------------------------------------


def _step_ids(defn: Definition) -> Iterator[Problem]:
    first: dict[str, int] = {}
    for i, step in enumerate(defn.steps):
        where = _step_pointer(i, "id")
        if step.id == END:
            yield _problem(where, f"{END!r} is reserved: a branch to it ends the automation")
        elif step.id in first:
            yield _problem(
                where, f"duplicate step id {step.id!r} (first used by step {first[step.id]})"
            )
        else:
            first[step.id] = i


def _branches(defn: Definition) -> Iterator[Problem]:
    # Branches only jump forward, so every execution reaches the end: no loops.
    for i, step in enumerate(defn.steps):
        if step.condition is None:
            continue
        later = {s.id for s in defn.steps[i + 1 :]}
        for key, target in (("then", step.condition.then), ("else", step.condition.else_)):
            message = _branch_problem(target, later, defn.steps)
            if message:
                yield _problem(_step_pointer(i, "condition", key), message)


def _branch_problem(target: str | None, later: set[str], steps: list[Step]) -> str | None:
    if target is None or target == END or target in later:
        return None
    if any(s.id == target for s in steps):
        return f"goes back to step {target!r}: a branch may only go to a later step or {END!r}"
    return f"no step has the id {target!r} (a branch goes to a later step or {END!r})"


def _conditions(defn: Definition) -> Iterator[Problem]:
    for i, step in enumerate(defn.steps):
        if step.condition is not None and not is_reference(step.condition.if_):
            yield _problem(
                _step_pointer(i, "condition", "if"),
                "must be a reference such as '$.steps.check.ok', not a literal",
            )


# -- references ----------------------------------------------------------------


def _references(defn: Definition) -> Iterator[Problem]:
    for i, step in enumerate(defn.steps):
        earlier = {s.id for s in defn.steps[:i]}
        base = _step_pointer(i, step.kind)
        for pointer, text in iter_references(_templated(step), base):
            yield from _reference_problems(pointer, text, earlier, defn)
    every = {s.id for s in defn.steps}
    for pointer, text in iter_references(defn.output, "/output"):
        yield from _reference_problems(pointer, text, every, defn)


def _templated(step: Step) -> Any:
    """The step's options as written, minus JSON Schemas (data, not templates)."""
    options = step.options.model_dump(mode="json", by_alias=True)
    if step.http is not None:
        options["response"].pop("schema", None)
    return options


def _reference_problems(
    pointer: str, text: str, readable: set[str], defn: Definition
) -> Iterator[Problem]:
    try:
        reference = compile_reference(text)
    except ExpressionError as exc:
        yield _problem(pointer, exc.message)
        return
    for root in sorted(reference.roots):
        message = _root_problem(text, root, readable, defn)
        if message:
            yield _problem(pointer, message)


def _root_problem(
    text: str, root: tuple[str, ...], readable: set[str], defn: Definition
) -> str | None:
    if root[0] not in ROOTS:
        return f"{text!r} reads {root[0]!r}, which is not one of {', '.join(ROOTS)}"
    if root[0] != "steps" or len(root) < 2 or root[1] in readable:
        return None
    if any(s.id == root[1] for s in defn.steps):
        return f"{text!r} reads step {root[1]!r}, which has not run yet: read only earlier steps"
    return f"{text!r} reads step {root[1]!r}, but no step has that id"


# -- http ------------------------------------------------------------------------


def _http(defn: Definition) -> Iterator[Problem]:
    for i, step in enumerate(defn.steps):
        if step.http is None:
            continue
        message = _url_problem(step.http.url)
        if message:
            yield _problem(_step_pointer(i, "http", "url"), message)
        yield from _header_problems(i, step.http)


def _url_problem(url: str) -> str | None:
    """None when ``url`` is a reference or a literal absolute http(s) URL."""
    if is_reference(url):
        return None
    # Pasting values into a URL is how injection gets in; a reference must be the whole URL.
    if "{" in url or "$" in url:
        return "templates are not allowed in a URL: make the whole URL a reference ('$.…')"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        return f"{url!r} is not a valid URL: {exc}"
    if parts.scheme not in ("https", "http") or not host:
        return f"{url!r} is not an absolute https:// (or http://) URL with a host"
    if parts.username is not None or parts.password is not None:
        return "a URL must not carry credentials: send them in a header from the vault"
    return None


def _header_problems(index: int, http: HttpOptions) -> Iterator[Problem]:
    for name, value in http.headers.items():
        if not isinstance(value, str):
            yield _problem(
                _step_pointer(index, "http", "headers", name),
                f"a header value must be a string or a reference, not {type(value).__name__}",
            )


# -- JSON Schemas ------------------------------------------------------------------


def _schemas(defn: Definition) -> Iterator[Problem]:
    trigger = defn.trigger.input_schema
    if trigger is not None:
        yield from _schema_problems(join(join("/trigger", defn.trigger.kind), "schema"), trigger)
    for i, step in enumerate(defn.steps):
        if step.http is not None and step.http.response.schema_ is not None:
            pointer = _step_pointer(i, "http", "response", "schema")
            yield from _schema_problems(pointer, step.http.response.schema_)


def _schema_problems(pointer: str, schema: dict[str, Any]) -> Iterator[Problem]:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        for token in exc.path:  # where inside the schema the mistake is
            pointer = join(pointer, token)
        yield _problem(pointer, f"not a valid JSON Schema: {exc.message}")


# -- schedule and waits ----------------------------------------------------------


def _schedule(defn: Definition) -> Iterator[Problem]:
    schedule = defn.trigger.schedule
    if schedule is None:
        return
    fields = schedule.cron.split()
    if len(fields) != 5 or not croniter.is_valid(schedule.cron):
        yield _problem(
            "/trigger/schedule/cron",
            f"{schedule.cron!r} is not a five-field cron expression (minute hour day month "
            "weekday), e.g. '*/5 * * * *'",
        )
    if not _is_timezone(schedule.timezone):
        yield _problem(
            "/trigger/schedule/timezone",
            f"{schedule.timezone!r} is not a known time zone, e.g. 'UTC' or 'Europe/Berlin'",
        )


def _is_timezone(key: str) -> bool:
    try:
        ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a directory: OSError
        return False
    return True


def _waits(defn: Definition) -> Iterator[Problem]:
    webhook = defn.trigger.webhook
    if webhook is None or webhook.respond != "result":
        return
    for i, step in enumerate(defn.steps):
        if step.wait is not None:
            yield _problem(
                _step_pointer(i, "wait"),
                "a webhook that responds with the result cannot wait: the caller would be left "
                "hanging (use respond: accepted)",
            )
