"""``python -m timeline_telemetry.ui [--config PATH | --preset NAME]``: start the tray app."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, load the config like ``run`` does, run the tray app."""
    parser = argparse.ArgumentParser(prog="timeline-telemetry-tray",
                                     description="Start the Timeline Telemetry tray app.")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--config", type=Path, metavar="PATH", help="JSON config file")
    group.add_argument("--preset",
                       choices=("workstation", "development", "production", "high-load"))
    parser.add_argument("--open", metavar="PAGE", default="",
                        choices=("overview", "metrics", "health", "alerts", "traces",
                                 "exporters"),
                        help="open the dashboard at this page (in the running instance "
                             "if there is one)")
    args = parser.parse_args(argv)
    from timeline_telemetry.config import ConfigError, resolve_config
    from timeline_telemetry.logsetup import configure_logging
    from timeline_telemetry.paths import AppPaths

    paths = AppPaths.resolve(os.environ)
    try:
        config = resolve_config(cli_path=args.config, preset=args.preset,
                                environ=dict(os.environ), paths=paths)
    except ConfigError as exc:
        print(f"timeline-telemetry: invalid configuration:\n{exc}", file=sys.stderr)
        from .startup_error import report_startup_failure

        report_startup_failure(f"invalid configuration:\n{exc}", folder=paths.config_dir)
        return 2
    configure_logging(paths, config.logging.level)
    from . import run_tray_app

    return run_tray_app(config, paths, [sys.argv[0]], config_source=lambda: resolve_config(
        cli_path=args.config, preset=args.preset, environ=dict(os.environ), paths=paths),
        open_page=args.open)


if __name__ == "__main__":
    sys.exit(main())
