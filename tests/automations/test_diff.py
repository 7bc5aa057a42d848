import copy
from typing import Any

from bastion.automations.diff import Change, diff, summarize


def _tokens(path: str) -> list[str]:
    return [t.replace("~1", "/").replace("~0", "~") for t in path.split("/")[1:]]


def _apply(document: Any, changes: list[Change]) -> Any:
    """Apply changes as an RFC 6902 patch (add/remove/replace), in order."""
    doc = copy.deepcopy(document)
    for change in changes:
        if change.path == "":
            doc = change.new
            continue
        *parents, last = _tokens(change.path)
        target = doc
        for token in parents:
            target = target[int(token)] if isinstance(target, list) else target[token]
        key: Any = int(last) if isinstance(target, list) else last
        if change.op == "remove":
            del target[key]
        elif change.op == "add" and isinstance(target, list):
            target.insert(key, change.new)
        else:
            target[key] = change.new
    return doc


OLD: dict[str, Any] = {
    "name": "order-intake",
    "owner": "ops",
    "trigger": {"webhook": {"respond": "result"}},
    "steps": [
        {"id": "shape", "transform": {"value": {"order": "$.trigger.body.id"}}},
        {"id": "check", "condition": {"if": "$.steps.shape.big", "then": "flag"}},
        {"id": "flag", "log": {"message": "big order"}},
    ],
}


def test_no_previous_document_is_one_add_of_everything() -> None:
    assert diff(None, OLD) == [Change("add", "", new=OLD)]


def test_equal_documents_have_no_changes() -> None:
    assert diff(OLD, copy.deepcopy(OLD)) == []


def test_nested_changes_are_listed_with_pointers_in_sorted_key_order() -> None:
    new = copy.deepcopy(OLD)
    new["steps"][1]["condition"]["then"] = "end"
    new["steps"][0]["transform"]["value"]["total"] = "$.trigger.body.total"
    del new["trigger"]["webhook"]["respond"]
    new["description"] = "Shape orders"
    assert diff(OLD, new) == [
        Change("add", "/description", new="Shape orders"),
        Change("add", "/steps/0/transform/value/total", new="$.trigger.body.total"),
        Change("replace", "/steps/1/condition/then", old="flag", new="end"),
        Change("remove", "/trigger/webhook/respond", old="result"),
    ]


def test_lists_are_compared_by_index() -> None:
    assert diff({"a": [1, 2]}, {"a": [1, 3, 4, 5]}) == [
        Change("replace", "/a/1", old=2, new=3),
        Change("add", "/a/2", new=4),
        Change("add", "/a/3", new=5),
    ]


def test_removals_from_a_list_come_last_index_first() -> None:
    assert diff([0, 1, 2, 3], [0]) == [
        Change("remove", "/3", old=3),
        Change("remove", "/2", old=2),
        Change("remove", "/1", old=1),
    ]


def test_the_changes_are_a_patch_from_old_to_new() -> None:
    new = copy.deepcopy(OLD)
    new["steps"] = [new["steps"][2], {"id": "wait", "wait": {"for": "1m"}}]
    new["trigger"] = {"schedule": {"cron": "* * * * *"}}
    new["output"] = ["$.steps.flag", {"x": [1, 2]}]
    assert _apply(OLD, diff(OLD, new)) == new
    assert _apply(new, diff(new, OLD)) == OLD


def test_a_change_of_type_is_a_change() -> None:
    assert diff({"a": 1}, {"a": True}) == [Change("replace", "/a", old=1, new=True)]
    assert diff({"a": 1}, {"a": 1.0}) == [Change("replace", "/a", old=1, new=1.0)]
    assert diff({"a": {"b": 1}}, {"a": [1]}) == [Change("replace", "/a", old={"b": 1}, new=[1])]
    assert diff({"a": None}, {"a": 0}) == [Change("replace", "/a", old=None, new=0)]


def test_pointer_tokens_are_escaped() -> None:
    changes = diff({"a/b": 1, "c~d": 1}, {"a/b": 2, "c~d": 2})
    assert [c.path for c in changes] == ["/a~1b", "/c~0d"]


def test_order_does_not_depend_on_key_insertion_order() -> None:
    old = {"b": 1, "a": 1, "c": {"z": 1, "y": 1}}
    new_one = {"a": 2, "b": 2, "c": {"y": 2, "z": 2}}
    new_two = {"c": {"z": 2, "y": 2}, "b": 2, "a": 2}
    assert diff(old, new_one) == diff(old, new_two)
    assert summarize(diff(old, new_one)) == ["/a", "/b", "/c/y", "/c/z"]


def test_keys_of_mixed_types_are_ordered_without_error() -> None:
    changes = diff({1: "x", "a": "x"}, {1: "y", "a": "y"})
    assert summarize(changes) == ["/1", "/a"]


def test_summarize_lists_the_changed_pointers() -> None:
    new = copy.deepcopy(OLD)
    new["owner"] = "finance"
    new["steps"].pop()
    assert summarize(diff(OLD, new)) == ["/owner", "/steps/2"]
    assert summarize(diff(None, OLD)) == [""]
    assert summarize([]) == []


def test_as_dict_carries_only_the_sides_that_exist() -> None:
    assert Change("add", "/a", new=1).as_dict() == {"op": "add", "path": "/a", "new": 1}
    assert Change("remove", "/a", old=1).as_dict() == {"op": "remove", "path": "/a", "old": 1}
    assert Change("replace", "/a", old=1, new=None).as_dict() == {
        "op": "replace",
        "path": "/a",
        "old": 1,
        "new": None,
    }
