"""The tray app's own preferences (not agent config): ``ui.json`` in the config folder.

Qt-free. Only the tray's look lives here (the tray icon's value); everything the agent does
is in ``config.json``. A missing or broken file gives the defaults.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from .overview_model import TRAY_VALUES

__all__ = ["PREFS_FILE", "UiPrefs", "load_prefs", "save_prefs"]

PREFS_FILE = "ui.json"
_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UiPrefs:
    """``tray_value``: what the tray icon shows beside the health colour, one of
    ``off`` (the health icon only; the default), ``cpu``, ``gpu`` or ``ram``."""

    tray_value: str = "off"


def load_prefs(config_dir: Path) -> UiPrefs:
    """The saved preferences (defaults for anything missing or invalid)."""
    try:
        data = json.loads((config_dir / PREFS_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return UiPrefs()
    except (OSError, ValueError) as exc:
        _log.warning("ignoring %s: %s", config_dir / PREFS_FILE, exc)
        return UiPrefs()
    value = data.get("tray_value") if isinstance(data, dict) else None
    return UiPrefs(tray_value=value if value in TRAY_VALUES else "off")


def save_prefs(config_dir: Path, prefs: UiPrefs) -> None:
    """Write ``prefs`` atomically (a temporary file renamed over the old one)."""
    if prefs.tray_value not in TRAY_VALUES:
        raise ValueError(f"tray_value must be one of {TRAY_VALUES}, got {prefs.tray_value!r}")
    config_dir.mkdir(parents=True, exist_ok=True)
    tmp = config_dir / (PREFS_FILE + ".tmp")
    tmp.write_text(json.dumps(asdict(prefs), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, config_dir / PREFS_FILE)
