"""Diagnostics bundle for support: one scrubbed zip of config, system, health, metrics
history, traces and logs (``timeline-telemetry bundle``; the tray's "Export diagnostics
bundle…"). Importing does no work.
"""

from __future__ import annotations

from .bundle import (
    BUNDLE_VERSION,
    DEFAULT_SIZE_CAP,
    BundleEntry,
    BundleResult,
    build_bundle,
)
from .command import default_bundle_name, run_bundle_command
from .live import health_json, manager_providers, one_off_health
from .providers import Providers
from .scrub import MASK, Scrubber

__all__ = [
    "BUNDLE_VERSION",
    "DEFAULT_SIZE_CAP",
    "MASK",
    "BundleEntry",
    "BundleResult",
    "Providers",
    "Scrubber",
    "build_bundle",
    "default_bundle_name",
    "health_json",
    "manager_providers",
    "one_off_health",
    "run_bundle_command",
]
