"""The dashboard window and its tabs. Imported only when the window first opens (it pulls
in pyqtgraph and numpy); import the modules directly, e.g. ``dashboard.window``."""

from __future__ import annotations

__all__: list[str] = []
