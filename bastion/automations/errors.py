from __future__ import annotations

from dataclasses import dataclass

from bastion.errors import Invalid, NotFound


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition: where (JSON pointer, line) and what."""

    pointer: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}, " if self.line is not None else ""
        return f"{where}{self.pointer or '/'}: {self.message}"


class DefinitionInvalid(Invalid):
    code = "invalid_definition"

    def __init__(self, source: str, problems: list[Problem]) -> None:
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(
            f"{source}: {len(problems)} {noun}",
            details=[
                {"pointer": p.pointer, "line": p.line, "message": p.message} for p in problems
            ],
        )
        self.problems = problems


class AutomationNotFound(NotFound):
    code = "automation_not_found"

    def __init__(self, name: str) -> None:
        super().__init__(f"no automation named {name!r}")
