"""Prometheus remote-write 1.0: the sender that pushes the local history to a central engine.

A package of its own (not in ``export/``) because it reads the history and the config's
secret references, which the plain exporters below it must not import.
"""

from __future__ import annotations

from .exporter import RemoteWriteExporter, cursor_path

__all__ = ["RemoteWriteExporter", "cursor_path"]
