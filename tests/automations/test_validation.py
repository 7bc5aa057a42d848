from typing import Any

import pytest
import yaml

from bastion.automations.definition import Definition
from bastion.automations.errors import Problem
from bastion.automations.validation import check
from tests.factories.automations import EXAMPLE


def _doc() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(EXAMPLE)
    return doc


def _problems(doc: dict[str, Any]) -> list[Problem]:
    return check(Definition.model_validate(doc))


def _pointers(doc: dict[str, Any]) -> list[str]:
    return [p.pointer for p in _problems(doc)]


def _one(doc: dict[str, Any], pointer: str) -> str:
    """The message of the only problem, which must be at ``pointer``."""
    problems = _problems(doc)
    assert [p.pointer for p in problems] == [pointer], problems
    return problems[0].message


def _http(url: str = "https://api.example.com/orders", **options: Any) -> dict[str, Any]:
    return {"id": "call", "http": {"url": url, **options}}


def _with_steps(*steps: dict[str, Any], trigger: Any = None) -> dict[str, Any]:
    doc = _doc()
    doc["steps"] = list(steps)
    doc["output"] = None
    if trigger is not None:
        doc["trigger"] = trigger
    return doc


# -- the example ----------------------------------------------------------------


def test_the_example_has_no_problems() -> None:
    assert _problems(_doc()) == []


def test_problems_carry_no_line() -> None:
    doc = _doc()
    doc["steps"][2]["id"] = "shape"
    assert _problems(doc) == [
        Problem("/steps/2/id", None, "duplicate step id 'shape' (first used by step 0)"),
        Problem(
            "/steps/1/condition/then",
            None,
            "no step has the id 'flag' (a branch goes to a later step or 'end')",
        ),
    ]


# -- step ids ----------------------------------------------------------------------


def test_step_ids_are_unique() -> None:
    doc = _doc()
    doc["steps"].append({"id": "check", "log": {"message": "again"}})
    assert "duplicate step id 'check'" in _one(doc, "/steps/3/id")


def test_end_is_not_a_step_id() -> None:
    doc = _doc()
    doc["steps"].append({"id": "end", "log": {"message": "x"}})
    assert "'end' is reserved" in _one(doc, "/steps/3/id")


# -- branches ------------------------------------------------------------------------


def test_a_branch_may_go_to_a_later_step_or_end() -> None:
    doc = _doc()
    doc["steps"][1]["condition"] = {"if": "$.steps.shape.big", "then": "end", "else": "flag"}
    assert _problems(doc) == []


@pytest.mark.parametrize("target", ["shape", "check"])
def test_a_branch_may_not_go_back_or_to_itself(target: str) -> None:
    doc = _doc()
    doc["steps"][1]["condition"]["else"] = target
    message = _one(doc, "/steps/1/condition/else")
    assert message == f"goes back to step {target!r}: a branch may only go to a later step or 'end'"


def test_a_branch_to_an_unknown_step_is_a_problem() -> None:
    doc = _doc()
    doc["steps"][1]["condition"]["then"] = "flagg"
    assert "no step has the id 'flagg'" in _one(doc, "/steps/1/condition/then")


def test_a_condition_tests_a_reference() -> None:
    doc = _doc()
    doc["steps"][1]["condition"]["if"] = "true"
    assert "must be a reference" in _one(doc, "/steps/1/condition/if")


# -- references ------------------------------------------------------------------------


def test_a_reference_must_compile() -> None:
    doc = _doc()
    doc["steps"][0]["transform"]["value"]["order"] = "$.trigger.body.["
    assert "is not a valid expression" in _one(doc, "/steps/0/transform/value/order")


def test_a_reference_may_read_only_earlier_steps() -> None:
    doc = _doc()
    doc["steps"][0]["transform"]["value"]["big"] = "$.steps.flag.x"
    message = _one(doc, "/steps/0/transform/value/big")
    assert (
        message
        == "'$.steps.flag.x' reads step 'flag', which has not run yet: read only earlier steps"
    )


def test_a_step_may_not_read_itself() -> None:
    doc = _doc()
    doc["steps"][2]["log"]["fields"]["order"] = "$.steps.flag"
    assert "has not run yet" in _one(doc, "/steps/2/log/fields/order")


def test_a_reference_to_an_unknown_step_is_a_problem() -> None:
    doc = _doc()
    doc["steps"][2]["log"]["fields"] = {"rows": [1, "$.steps.nope.rows"]}
    message = _one(doc, "/steps/2/log/fields/rows/1")
    assert message == "'$.steps.nope.rows' reads step 'nope', but no step has that id"


def test_a_reference_must_start_at_a_known_root() -> None:
    doc = _doc()
    doc["steps"][0]["transform"]["value"]["order"] = "$.body.id"
    message = _one(doc, "/steps/0/transform/value/order")
    assert message == "'$.body.id' reads 'body', which is not one of trigger, steps, execution"


def test_every_root_of_a_reference_is_checked() -> None:
    doc = _doc()
    doc["steps"][0]["transform"]["value"]["order"] = "$.trigger.body.id || body.id || steps.flag"
    problems = _problems(doc)
    assert [p.pointer for p in problems] == ["/steps/0/transform/value/order"] * 2
    assert "reads 'body'" in problems[0].message
    assert "reads step 'flag'" in problems[1].message


@pytest.mark.parametrize(
    "text",
    [
        "$",
        "$.execution.id",
        "$.steps",
        "$.trigger.body.items[?price > `10`] | [0].name",
        "$.sort_by(trigger.body.items, &price)[*].name",
        "$.steps.shape.order && trigger.headers",
        "$$.not.a.reference",
    ],
)
def test_these_references_are_sound(text: str) -> None:
    doc = _doc()
    doc["steps"][2]["log"]["fields"]["order"] = text
    assert _problems(doc) == []


def test_output_may_read_any_step() -> None:
    doc = _doc()
    doc["output"] = {"flagged": "$.steps.flag", "order": "$.steps.shape.order"}
    assert _problems(doc) == []


def test_output_references_are_checked() -> None:
    doc = _doc()
    doc["output"] = {"rows": ["$.steps.missing", "$.nope"]}
    problems = _problems(doc)
    assert [p.pointer for p in problems] == ["/output/rows/0", "/output/rows/1"]
    assert "no step has that id" in problems[0].message
    assert "reads 'nope'" in problems[1].message


def test_references_are_reported_under_the_option_names_as_written() -> None:
    step = _http(method="POST", json={"order": "$.steps.later.id"})
    doc = _with_steps(step, {"id": "later", "log": {"message": "x"}})
    assert "has not run yet" in _one(doc, "/steps/0/http/json/order")


def test_a_response_schema_is_not_read_as_a_template() -> None:
    step = _http(response={"schema": {"properties": {"a": {"const": "$.x"}}}})
    assert _problems(_with_steps(step)) == []


# -- http ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://api.example.com/orders?limit=10",
        "http://localhost:8080/hook",
        "$.trigger.body.callback",
        "$.steps.shape.url",
    ],
)
def test_these_urls_are_accepted(url: str) -> None:
    step = {"id": "call", "http": {"url": url}}
    doc = _doc()
    doc["steps"].append(step)
    assert _problems(doc) == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.example.com/orders/{{id}}", "templates are not allowed"),
        ("https://api.example.com/orders/{id}", "templates are not allowed"),
        ("https://api.example.com/orders/$id", "templates are not allowed"),
        ("https://api.example.com/$.trigger.id", "templates are not allowed"),
        ("ftp://files.example.com/a", "is not an absolute https://"),
        ("/orders", "is not an absolute https://"),
        ("https://", "is not an absolute https://"),
        ("api.example.com/orders", "is not an absolute https://"),
        ("http://[::1/x", "is not a valid URL"),
        ("https://user:pw@api.example.com/", "must not carry credentials"),
    ],
)
def test_these_urls_are_refused(url: str, expected: str) -> None:
    assert expected in _one(_with_steps(_http(url)), "/steps/0/http/url")


def test_header_values_are_strings_or_references() -> None:
    headers = {"Accept": "application/json", "X-Order": "$.trigger.body.id", "X-Count": 3}
    message = _one(_with_steps(_http(headers=headers)), "/steps/0/http/headers/X-Count")
    assert message == "a header value must be a string or a reference, not int"


def test_a_header_holding_an_object_is_refused() -> None:
    doc = _with_steps(_http(headers={"X-Meta": {"a": 1}}))
    assert "not dict" in _one(doc, "/steps/0/http/headers/X-Meta")


# -- JSON Schemas ----------------------------------------------------------------------------


def test_a_webhook_schema_must_be_a_json_schema() -> None:
    doc = _doc()
    doc["trigger"]["webhook"]["schema"]["properties"]["id"]["type"] = "strin"
    message = _one(doc, "/trigger/webhook/schema/properties/id/type")
    assert message.startswith("not a valid JSON Schema: 'strin' is not valid")


def test_a_manual_schema_must_be_a_json_schema() -> None:
    doc = _doc()
    doc["trigger"] = {"manual": {"schema": {"type": "object", "required": "id"}}}
    assert "'id' is not of type 'array'" in _one(doc, "/trigger/manual/schema/required")


def test_a_manual_trigger_with_a_sound_schema_passes() -> None:
    doc = _doc()
    doc["trigger"] = {"manual": {"schema": {"type": "object", "required": ["id"]}}}
    assert _problems(doc) == []


def test_a_response_schema_must_be_a_json_schema() -> None:
    step = _http(response={"status": [200], "schema": {"type": 5}})
    message = _one(_with_steps(step), "/steps/0/http/response/schema/type")
    assert message.startswith("not a valid JSON Schema")


# -- schedule ---------------------------------------------------------------------------------


def _schedule(cron: str, timezone: str = "UTC") -> dict[str, Any]:
    doc = _doc()
    doc["trigger"] = {"schedule": {"cron": cron, "timezone": timezone}}
    return doc


@pytest.mark.parametrize("cron", ["*/5 * * * *", "0 9 * * mon-fri", "30 2 1 * *"])
def test_five_field_cron_expressions_are_accepted(cron: str) -> None:
    assert _problems(_schedule(cron, "Europe/Berlin")) == []


@pytest.mark.parametrize("cron", ["* * * * * *", "61 * * * *", "* * *", "@daily", "every day"])
def test_other_cron_expressions_are_refused(cron: str) -> None:
    assert "not a five-field cron expression" in _one(_schedule(cron), "/trigger/schedule/cron")


@pytest.mark.parametrize("zone", ["Mars/Base", "Europe", "../etc/passwd", "", "utc"])
def test_the_timezone_must_be_known(zone: str) -> None:
    message = _one(_schedule("* * * * *", zone), "/trigger/schedule/timezone")
    assert message.startswith(f"{zone!r} is not a known time zone")


def test_cron_and_timezone_are_both_reported() -> None:
    assert _pointers(_schedule("nope", "Nowhere/Land")) == [
        "/trigger/schedule/cron",
        "/trigger/schedule/timezone",
    ]


# -- waits -------------------------------------------------------------------------------------


def test_a_webhook_answering_with_the_result_cannot_wait() -> None:
    doc = _doc()
    doc["steps"].insert(1, {"id": "pause", "wait": {"for": "10m"}})
    assert "the caller would be left hanging" in _one(doc, "/steps/1/wait")


@pytest.mark.parametrize(
    "trigger",
    [{"webhook": {"respond": "accepted"}}, {"webhook": {}}, {"manual": {}}],
)
def test_other_triggers_may_wait(trigger: dict[str, Any]) -> None:
    doc = _doc()
    doc["trigger"] = trigger
    doc["steps"].insert(1, {"id": "pause", "wait": {"for": "10m"}})
    assert _problems(doc) == []
