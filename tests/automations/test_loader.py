import pytest
import yaml

from bastion import codec
from bastion.automations.definition import Definition
from bastion.automations.errors import DefinitionInvalid, Problem
from bastion.automations.loader import MAX_DEPTH, dump_definition, load_definition
from bastion.errors import Invalid
from tests.factories.automations import EXAMPLE

MINIMAL = """\
name: tiny
owner: ops
trigger:
  manual: {}
steps:
  - id: note
    log: {message: hello}
"""


def _problems(text: str, source: str = "test.yaml") -> list[Problem]:
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(text, source)
    return caught.value.problems


def _where(text: str) -> list[tuple[str, int | None]]:
    return [(p.pointer, p.line) for p in _problems(text)]


# -- valid documents ---------------------------------------------------------------


def test_the_example_loads() -> None:
    defn = load_definition(EXAMPLE, "order-intake.yaml")
    assert defn.name == "order-intake"
    assert defn.trigger.kind == "webhook"
    assert defn.trigger.webhook is not None
    assert defn.trigger.webhook.respond == "result"
    assert defn.trigger.input_schema == {
        "type": "object",
        "required": ["id", "total"],
        "properties": {"id": {"type": "string"}, "total": {"type": "number"}},
    }
    assert [(s.id, s.kind) for s in defn.steps] == [
        ("shape", "transform"),
        ("check", "condition"),
        ("flag", "log"),
    ]
    assert defn.steps[1].condition is not None
    assert defn.steps[1].condition.else_ == "end"
    assert defn.output == "$.steps.shape"


def test_json_is_read_through_the_same_path() -> None:
    as_json = codec.dumps_str(yaml.safe_load(EXAMPLE))
    assert as_json.startswith("{")
    assert load_definition(as_json) == load_definition(EXAMPLE)


def test_json_problems_have_lines_too() -> None:
    text = '{\n  "name": "tiny",\n  "owner": "ops",\n  "trigger": {"manual": {}},\n'
    text += '  "steps": [\n    {"id": "note", "log": {"mesage": "hi"}}\n  ]\n}\n'
    assert _where(text) == [("/steps/0/log/message", 6), ("/steps/0/log/mesage", 6)]


def test_dates_stay_strings_as_in_json() -> None:
    text = MINIMAL.replace("log: {message: hello}", "transform: {value: {day: 2024-05-01}}")
    defn = load_definition(text)
    assert defn.steps[0].transform is not None
    assert defn.steps[0].transform.value == {"day": "2024-05-01"}


# -- many problems at once ---------------------------------------------------------


BROKEN = """\
name: Order Intake
owner: ops
trigger:
  schedule:
    timezone: UTC
steps:
  - id: shape
    transform:
      value: $.trigger.body
  - id: call
    http:
      url: https://api.example.com/orders
      method: FETCH
      retries: 3
  - id: pause
    wait: {for: soon}
"""


def test_every_problem_is_reported_with_pointer_and_line() -> None:
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(BROKEN, "order-intake.yaml")
    error = caught.value
    assert str(error) == "order-intake.yaml: 5 problems"
    assert error.code == "invalid_definition"
    assert isinstance(error, Invalid)
    assert [(p.pointer, p.line) for p in error.problems] == [
        ("/name", 1),
        ("/trigger/schedule/cron", 4),
        ("/steps/1/http/method", 13),
        ("/steps/1/http/retries", 14),
        ("/steps/2/wait/for", 16),
    ]
    messages = [p.message for p in error.problems]
    assert messages[0].startswith("String should match pattern")
    assert messages[1] == "missing required key 'cron'"
    assert messages[2].startswith("Input should be 'GET', 'POST'")
    assert messages[3] == "unknown key 'retries'"
    assert messages[4] == "'soon' is not a duration like 30s, 15m, 12h, 30d or 2w"


def test_the_details_carry_the_problems() -> None:
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(MINIMAL.replace("owner: ops", "owner: ''"))
    assert str(caught.value) == "<input>: 1 problem"
    assert caught.value.details == [
        {"pointer": "/owner", "line": 2, "message": "String should have at least 1 character"}
    ]


def test_a_missing_key_points_at_its_parent_line() -> None:
    text = MINIMAL.replace("    log: {message: hello}", "    condition:\n      then: end")
    assert _problems(text) == [Problem("/steps/0/condition/if", 7, "missing required key 'if'")]


def test_a_missing_top_level_key_points_at_the_document_start() -> None:
    text = "# an automation\n\n" + MINIMAL.replace("owner: ops\n", "")
    assert _problems(text) == [Problem("/owner", 3, "missing required key 'owner'")]


def test_a_step_with_two_kinds_points_at_the_step() -> None:
    text = MINIMAL + "    wait: {for: 1m}\n"
    assert _problems(text) == [
        Problem(
            "/steps/0",
            6,
            "a step has exactly one of http, transform, condition, log, wait",
        )
    ]


def test_a_section_that_is_not_a_mapping_says_so() -> None:
    text = MINIMAL.replace("  manual: {}\n", "").replace("    log: {message: hello}", "    log: hi")
    assert _problems(text) == [
        Problem("/trigger", 3, "must be a mapping, not null"),
        Problem("/steps/0/log", 6, "must be a mapping, not a string"),
    ]


def test_semantic_problems_get_lines() -> None:
    text = EXAMPLE.replace("then: flag", "then: shape").replace(
        "output: $.steps.shape", "output: $.steps.nope"
    )
    problems = _problems(text)
    assert [(p.pointer, p.line) for p in problems] == [
        ("/steps/1/condition/then", 22),
        ("/output", 26),
    ]
    assert problems[0].message.startswith("goes back to step 'shape'")


def test_semantic_checks_wait_for_a_sound_shape() -> None:
    text = EXAMPLE.replace("then: flag", "then: shape").replace("name: order-intake", "name: X")
    assert _where(text) == [("/name", 1)]


# -- YAML itself --------------------------------------------------------------------


def test_duplicate_keys_are_refused_at_the_duplicate() -> None:
    text = MINIMAL.replace("owner: ops\n", "owner: ops\nowner: finance\n")
    assert _problems(text) == [
        Problem("/owner", 3, "duplicate key 'owner' (first on line 2): give it only once")
    ]


def test_nested_and_flow_duplicates_are_refused() -> None:
    text = MINIMAL.replace("log: {message: hello}", "log: {message: hello, message: bye}")
    text = text.replace("  manual: {}", "  manual: {}\n  manual: {}")
    assert _where(text) == [("/trigger/manual", 5), ("/steps/0/log/message", 8)]


def test_quoted_and_plain_keys_are_the_same_key() -> None:
    text = MINIMAL.replace("owner: ops\n", "owner: ops\n'owner': ops\n")
    assert _where(text) == [("/owner", 3)]


def test_duplicates_are_reported_with_shape_problems() -> None:
    text = MINIMAL.replace("owner: ops\n", "owner: ops\nowner: ops\ncolour: red\n")
    assert _where(text) == [("/owner", 3), ("/colour", 4)]


def test_aliases_are_refused() -> None:
    text = MINIMAL.replace("log: {message: hello}", "log: {message: &m hello, level: *m}")
    assert _problems(text) == [
        Problem("", 7, "aliases (*m) are not allowed: write the value out"),
    ]


def test_a_billion_laughs_is_refused_before_expansion() -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 6)]
    problems = _problems("\n".join(lines))
    assert problems == [Problem("", 2, "aliases (*a0) are not allowed: write the value out")]


def test_a_syntax_error_points_at_its_line() -> None:
    text = MINIMAL.replace("owner: ops", "owner: ops: finance")
    assert _problems(text) == [
        Problem("", 2, "invalid YAML: mapping values are not allowed here"),
    ]


def test_bad_indentation_points_at_its_line() -> None:
    text = MINIMAL.replace("    log: {message: hello}", "    log: {message: hello}\n   oops: 1")
    [problem] = _problems(text)
    assert (problem.pointer, problem.line) == ("", 8)
    assert "expected <block end>" in problem.message


def test_more_than_one_document_is_refused() -> None:
    [problem] = _problems(MINIMAL + "---\n" + MINIMAL)
    assert problem.line == 8
    assert "expected a single document" in problem.message


def test_control_characters_are_refused_with_their_line() -> None:
    assert _problems(MINIMAL + "output: a\x07b\n") == [
        Problem("", 8, "character U+0007 is not allowed in YAML")
    ]


@pytest.mark.parametrize(
    ("text", "found"),
    [("- name: x\n", "a list"), ("just words\n", "a string"), ("42\n", "a number")],
)
def test_a_document_must_be_a_mapping(text: str, found: str) -> None:
    assert _problems(text) == [
        Problem(
            "", 1, f"a definition is a mapping of keys (name, owner, trigger, steps), not {found}"
        )
    ]


@pytest.mark.parametrize("text", ["", "# nothing here\n", "---\n"])
def test_an_empty_document_is_refused(text: str) -> None:
    [problem] = _problems(text)
    assert problem.message.startswith("the document is empty")


def test_a_document_over_one_mebibyte_is_refused() -> None:
    text = MINIMAL + "description: " + "x" * (1024 * 1024) + "\n"
    assert _problems(text) == [Problem("", None, "the document is larger than 1 MiB")]


def test_deep_nesting_is_refused() -> None:
    deep = "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5)
    text = MINIMAL.replace("log: {message: hello}", f"transform: {{value: {deep}}}")
    [problem] = _problems(text)
    assert problem.line == 7
    assert problem.pointer.startswith("/steps/0/transform/value/0/0/")
    assert problem.message == f"nested more than {MAX_DEPTH} levels deep"


def test_nesting_past_the_parser_is_refused() -> None:
    text = MINIMAL + "output: " + "[" * 5000 + "]" * 5000 + "\n"
    assert _problems(text) == [
        Problem("", None, f"the document is nested more than {MAX_DEPTH} levels deep")
    ]


def test_problems_come_in_line_order() -> None:
    text = BROKEN.replace("name: Order Intake\n", "") + "name: Order Intake\n"
    lines = [p.line or 0 for p in _problems(text)]
    assert lines == sorted(lines)
    assert lines[-1] == 16


# -- dumping --------------------------------------------------------------------------


def test_dump_round_trips() -> None:
    defn = load_definition(EXAMPLE)
    assert load_definition(dump_definition(defn)) == defn


def test_dump_keeps_the_model_order_and_aliases() -> None:
    dumped = dump_definition(load_definition(EXAMPLE))
    top = [line.split(":")[0] for line in dumped.splitlines() if line[:1].isalpha()]
    assert top == ["name", "description", "owner", "trigger", "steps", "output"]
    assert "    if: $.steps.shape.big\n" in dumped
    assert "    else: end\n" in dumped
    assert "    schema:\n" in dumped


def test_dump_leaves_defaults_out() -> None:
    defn = load_definition(MINIMAL)
    assert dump_definition(defn) == (
        "name: tiny\nowner: ops\ntrigger:\n  manual: {}\nsteps:\n- id: note\n"
        "  log:\n    message: hello\n"
    )


def test_dump_writes_shared_values_out_instead_of_anchoring_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The loader refuses aliases, so the dumper must never write one, even if a
    # document ever holds the same object twice.
    defn = load_definition(MINIMAL)
    shared = {"message": "hello"}
    document = defn.document()
    document["steps"] = [{"id": "a", "log": shared}, {"id": "b", "log": shared}]
    monkeypatch.setattr(Definition, "document", lambda self: document)
    dumped = dump_definition(defn)
    assert "&" not in dumped
    assert "*" not in dumped
    monkeypatch.undo()
    assert [s.id for s in load_definition(dumped).steps] == ["a", "b"]
