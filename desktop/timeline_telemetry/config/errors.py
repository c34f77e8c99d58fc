"""Config problems: each names a JSON path (or file / environment variable) and what is wrong."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ConfigError", "ConfigProblem"]


@dataclass(frozen=True)
class ConfigProblem:
    """One problem: ``path`` such as ``telemetry.metrics.collection_interval``, and a message
    that says what is wrong and what is accepted."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigError(Exception):
    """Every problem found in a config, so the user can fix them all in one go.

    ``str(error)`` is one line per problem. ``source`` is where the config came from, if known.
    """

    def __init__(self, problems: Sequence[ConfigProblem], *, source: str | None = None) -> None:
        if not problems:
            raise ValueError("ConfigError needs at least one problem")
        self.problems: list[ConfigProblem] = list(problems)
        self.source = source
        super().__init__("\n".join(str(p) for p in self.problems))
