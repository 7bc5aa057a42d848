import pytest

from bastion.automations.expressions import compile_reference


@pytest.mark.parametrize(
    ("text", "roots"),
    [
        ("$.steps.invoice.rows", {("steps", "invoice")}),
        ("$.trigger.body.total > `100`", {("trigger", "body")}),
        ("$.steps.a || trigger.b", {("steps", "a"), ("trigger", "b")}),
        ("$.{x: steps.a, y: trigger}", {("steps", "a"), ("trigger",)}),
        ("$.length(steps.a)", {("steps", "a")}),
        ("$.steps.shape[0].x", {("steps", "shape")}),
        ("$.steps[0].x", {("steps",)}),
        ("$", set()),
    ],
)
def test_roots_name_what_the_reference_reads_from_the_context(
    text: str, roots: set[tuple[str, ...]]
) -> None:
    assert compile_reference(text).roots == roots


@pytest.mark.parametrize(
    ("text", "roots"),
    [
        # Names evaluated against an element or an intermediate result, not the context.
        ("$.trigger.body.items[?price > `10`]", {("trigger", "body")}),
        ("$.steps.shape | name", {("steps", "shape")}),
        ("$.steps.*.name", {("steps",)}),
        ("$.steps.rows[].name", {("steps", "rows")}),
        ("$.sort_by(steps.rows, &name)", {("steps", "rows")}),
        ("$.(steps.a || trigger.b).name", {("steps", "a"), ("trigger", "b")}),
    ],
)
def test_relative_names_are_not_roots(text: str, roots: set[tuple[str, ...]]) -> None:
    assert compile_reference(text).roots == roots
