"""Package ``__init__`` attributes imported on first use (PEP 562).

A package's ``__init__`` re-exports its public names for convenience, but importing every
submodule up front is what made the agent's resident memory grow: ``timeline_telemetry.tracing``
pulled in the OpenTelemetry SDK and protobuf even when nothing was traced. With
:func:`lazy_attributes` a package names where each attribute lives, and a submodule is imported
when one of its names is first read (``from timeline_telemetry.tracing import Tracer``
imports ``tracing.api`` only).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(
    package: str, where: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``where`` maps an attribute name to the
    relative module that defines it (``{"Tracer": ".api"}``). The value is cached in the
    package's namespace, so the hook runs once per name."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__
