"""The ``timeline-telemetry`` command: one function per subcommand.

Exit codes: 0 success, 2 bad input or a configuration/start-up problem the user must fix.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TextIO

from . import __version__
from .paths import AppPaths

if TYPE_CHECKING:
    from .config import ConfigProblem, TelemetryConfig
    from .history import HistoryStore, SeriesData
    from .metrics.model import Labels

__all__ = ["main"]

EXIT_OK = 0
#: Another agent already runs for this home (``run``, the tray).
EXIT_RUNNING = 1
EXIT_USAGE = 2

_log = logging.getLogger("timeline_telemetry")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:  # no subcommand: the tray app, the product's main job
        handler = cmd_tray
    try:
        code: int = handler(args)
        sys.stdout.flush()
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, as Python's docs recommend.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return code


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="timeline-telemetry",
        description="Workstation telemetry monitor for the Timeline Studio video editor.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    # Separate dests: a subcommand's own --config default must not erase these.
    _add_config_args(parser, prefix="global_")
    sub = parser.add_subparsers(
        metavar="COMMAND",
        description="With no command, the tray app starts (use 'run --headless' on a server).",
    )

    run = sub.add_parser(
        "run",
        help="run the monitor",
        description="Run the monitor: collect, keep history, serve and write exports. "
        "Stops cleanly on Ctrl-C or SIGTERM.",
    )
    run.add_argument(
        "--headless",
        action="store_true",
        help="run without a screen (the agent only: no tray icon, no windows)",
    )
    _add_config_args(run)
    run.add_argument(
        "--log-level",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="override logging.level from the config",
    )
    run.set_defaults(handler=cmd_run)

    st = sub.add_parser(
        "status",
        help="what the running agent (tray or headless) is doing",
        description="Show the agent running for this home: mode, pid, listeners, each "
        "exporter's status and active alerts, read from its local API. Exit 0 when one "
        "runs, 3 when none does.",
    )
    st.add_argument("--json", action="store_true", help="JSON instead of text")
    st.set_defaults(handler=cmd_status)

    chk = sub.add_parser(
        "check",
        help="run every health check once",
        description="Run every configured health check once and print a table (or JSON). "
        "Exit 0 healthy, 1 warning, 2 unhealthy, 3 on a configuration error.",
    )
    _add_config_args(chk)
    chk.add_argument("--json", action="store_true", help="JSON instead of a table")
    chk.set_defaults(handler=cmd_check)

    bundle = sub.add_parser(
        "bundle",
        help="write a diagnostics zip for support (secrets scrubbed)",
        description="Write one zip for support: system facts, the scrubbed config, health, "
        "alerts, export status, metric history, traces and logs from the last --since. "
        "Every secret is scrubbed; home paths and the user name get stable pseudonyms "
        "unless --no-pseudonymize. Works whether or not the agent is running.",
    )
    _add_config_args(bundle)
    bundle.add_argument("-o", "--output", type=Path, metavar="PATH",
                        help="zip file to write, or a folder to write it in (default: the "
                             "current folder)")
    bundle.add_argument(
        "--since", default="2h", type=_duration_arg, help="how far back (duration, default 2h)"
    )
    bundle.add_argument(
        "--preview", action="store_true", help="list what would go in, write nothing"
    )
    bundle.add_argument(
        "--no-pseudonymize", dest="pseudonymize", action="store_false",
        help="keep home paths and the user name (by default they become ~ and <user-1>)",
    )
    bundle.add_argument(
        "--pseudonymize-hosts", action="store_true",
        help="also replace this machine's host name and private IP addresses "
        "(<host-1>, <ip-1>...)",
    )
    bundle.set_defaults(handler=cmd_bundle)

    rules = sub.add_parser(
        "rules",
        help="check and unit-test Prometheus rule files (promtool-compatible)",
        description="Check Prometheus alerting/recording rule files, or run promtool-format "
        "rule unit tests against our evaluator. Output and exit codes follow promtool's.",
    )
    rules_sub = rules.add_subparsers(metavar="ACTION")
    rcheck = rules_sub.add_parser("check", help="check rule files (like 'promtool check rules')")
    rcheck.add_argument("files", nargs="+", type=Path, metavar="FILE")
    rcheck.set_defaults(handler=cmd_rules_check)
    rtest = rules_sub.add_parser("test", help="run rule unit tests (like 'promtool test rules')")
    rtest.add_argument("files", nargs="+", type=Path, metavar="FILE")
    rtest.set_defaults(handler=cmd_rules_test)
    rules.set_defaults(handler=lambda _a: _help(rules))

    sil = sub.add_parser(
        "silence",
        help="add, list and expire alert silences (Alertmanager's matcher syntax)",
        description="Mute notifications of alerts whose labels match, like 'amtool silence'. "
        "Silences live in the alert store, with the tray's snooze and acknowledge; the "
        "running agent honours a new one at its next evaluation.",
    )
    sil_sub = sil.add_subparsers(metavar="ACTION")
    sadd = sil_sub.add_parser(
        "add",
        help="add a silence; prints its id",
        description='Add a silence for alerts matching every MATCHER (alertname="HighCPUUsage", '
        'severity=~"warn.*", instance!=host1, job!~"a|b"; regexes match the whole value). '
        "A first argument that is only a name means alertname=NAME.",
    )
    _add_config_args(sadd)
    sadd.add_argument("matchers", nargs="+", metavar="MATCHER")
    send = sadd.add_mutually_exclusive_group()
    send.add_argument(
        "--duration", type=_duration_arg,
        help="how long from now (duration; default: alerts.default_silence_duration, 1h)"
    )
    send.add_argument(
        "--end", metavar="TIME", help="when it ends (RFC 3339, e.g. 2026-12-05T18:00:00+01:00)"
    )
    sadd.add_argument("--comment", default="", help="why (shown in the list)")
    sadd.add_argument("--author", default=None, help="who (default: the login name)")
    sadd.set_defaults(handler=cmd_silence_add)
    slist = sil_sub.add_parser("list", help="list active and pending silences")
    _add_config_args(slist)
    slist.add_argument("--json", action="store_true", help="JSON instead of a table")
    slist.add_argument(
        "--expired", action="store_true", help="list expired silences instead"
    )
    slist.set_defaults(handler=cmd_silence_list)
    sexp = sil_sub.add_parser(
        "expire", help="end silences now (an ID may be a unique prefix)"
    )
    _add_config_args(sexp)
    sexp.add_argument("ids", nargs="+", metavar="ID")
    sexp.set_defaults(handler=cmd_silence_expire)
    sil.set_defaults(handler=lambda _a: _help(sil))

    cfg = sub.add_parser("config", help="check and show configuration")
    cfg_sub = cfg.add_subparsers(metavar="ACTION")
    validate = cfg_sub.add_parser(
        "validate",
        help="check a config file; exit 0 if valid, 2 with one line per problem",
        description="Check a config file. Prints one line per problem (JSON path: what is "
        "wrong and what is accepted) and exits 2, or prints 'OK' and exits 0.",
    )
    validate.add_argument("path", type=Path, help="the JSON config file")
    validate.set_defaults(handler=cmd_config_validate)
    show = cfg_sub.add_parser(
        "show",
        help="print the effective config (secrets masked)",
        description="Print the config the monitor would use, after the lookup order and "
        "environment overrides, as JSON with secrets masked.",
    )
    _add_config_args(show)
    show.set_defaults(handler=cmd_config_show)
    cfg.set_defaults(handler=lambda _a: _help(cfg))

    secret = sub.add_parser(
        "secret",
        help="store secrets in the OS keyring",
        description="Store a secret in the OS keyring; "
        'refer to it in the config as "keyring:NAME".',
    )
    secret_sub = secret.add_subparsers(metavar="ACTION")
    sset = secret_sub.add_parser(
        "set",
        help="prompt for a secret (no echo) and store it in the OS keyring",
        description="Prompt for a secret without echo and store it in the OS keyring under "
        'NAME (service "timeline-telemetry"). Use it in the config as "keyring:NAME".',
    )
    sset.add_argument("name", help="the secret's name, e.g. smtp_password")
    sset.add_argument(
        "--stdin", action="store_true", help="read the secret from standard input instead"
    )
    sset.set_defaults(handler=cmd_secret_set)
    secret.set_defaults(handler=lambda _a: _help(secret))

    hist = sub.add_parser("history", help="read the local metric history")
    hist_sub = hist.add_subparsers(metavar="ACTION")
    hlist = hist_sub.add_parser("list", help="list the series kept in the history")
    _add_config_args(hlist)
    hlist.add_argument("prefix", nargs="?", default="", help="only names starting with this")
    hlist.set_defaults(handler=cmd_history_list)
    hshow = hist_sub.add_parser(
        "show",
        help="print a series' points",
        description="Print the points of every series named NAME over the last --since.",
    )
    _add_config_args(hshow)
    hshow.add_argument("name", help="metric sample name, e.g. system_cpu_usage_percent")
    hshow.add_argument(
        "--label", action="append", default=[], metavar="K=V", help="label matcher (repeatable)"
    )
    hshow.add_argument(
        "--since", default="10m", type=_duration_arg, help="how far back (duration, default 10m)"
    )
    hshow.add_argument("--max-points", type=int, default=None, help="downsample to N points")
    hshow.add_argument("--csv", action="store_true", help="CSV instead of a table")
    hshow.set_defaults(handler=cmd_history_show)
    hist.set_defaults(handler=lambda _a: _help(hist))
    return parser


def _add_config_args(p: argparse.ArgumentParser, prefix: str = "") -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--config", type=Path, metavar="PATH", dest=prefix + "config", help="JSON config file"
    )
    group.add_argument(
        "--preset",
        choices=("workstation", "development", "production", "high-load"),
        dest=prefix + "preset",
        help="use a built-in preset",
    )


def _duration_arg(text: str) -> float:
    """argparse type for ``--since``: a duration such as 10m, 2h, 1h30m."""
    from .config.durations import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _help(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return EXIT_USAGE


def _err(msg: str) -> None:
    print(f"timeline-telemetry: {msg}", file=sys.stderr)


def _load(args: argparse.Namespace, paths: AppPaths) -> TelemetryConfig:
    from .config import resolve_config

    return resolve_config(
        cli_path=getattr(args, "config", None) or getattr(args, "global_config", None),
        preset=getattr(args, "preset", None) or getattr(args, "global_preset", None),
        environ=_environ(),
        paths=paths,
    )


def _load_config(
    args: argparse.Namespace,
    *,
    on_invalid: Callable[[str, AppPaths], None] | None = None,
    check_rules: bool = False,
) -> tuple[TelemetryConfig, AppPaths] | None:
    """The effective config and the app's paths; on a bad config, print every problem
    (each named by its JSON path), hand the same text to ``on_invalid`` and return None, so
    the command starts nothing. ``check_rules``: the rule files it names count as part of
    it (the commands that start the agent)."""
    from .config import ConfigError

    paths = AppPaths.resolve(_environ())
    try:
        config = _load(args, paths)
        if check_rules and (problems := _rule_file_problems(config)):
            raise ConfigError(problems, source=config.source)
        return config, paths
    except ConfigError as exc:
        source = getattr(exc, "source", None)
        head = f"invalid configuration ({source}):" if source else "invalid configuration:"
        _err(head)
        print(str(exc), file=sys.stderr)
        if on_invalid is not None:
            on_invalid(f"{head}\n{exc}", paths)
        return None


def _rule_file_problems(config: TelemetryConfig) -> list[ConfigProblem]:
    """The problems of the rule files ``config`` names (with alerts on), each one line
    naming file, line:column and problem, under the config key; the shipped file is not
    read again."""
    from .config import ConfigProblem

    files = config.alerts.rule_files
    if not config.alerts.enabled or not files:
        return []
    from .alerts.rules import RuleFileError, load_rule_files

    try:
        load_rule_files(list(files))
    except RuleFileError as exc:
        return [ConfigProblem("telemetry.alerts.rule_files", line) for line in exc.errors]
    return []


def _environ() -> dict[str, str]:
    return dict(os.environ)


# -- run -------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    """``run --headless``: the agent until SIGINT/SIGTERM."""

    if not args.headless:
        return cmd_tray(args)
    loaded = _load_config(args, check_rules=True)
    if loaded is None:
        return EXIT_USAGE
    config, paths = loaded
    from .runtime.instance import AlreadyRunning, find_running

    running = find_running(paths.data_dir)
    if running is not None:  # before logging starts: nothing goes into the running one's log
        _err(str(AlreadyRunning(paths.data_dir, running)))
        return EXIT_RUNNING
    from .logsetup import configure_logging

    configure_logging(
        paths,
        args.log_level or config.logging.level,
        detail=config.tracing.debug_mode or config.tracing.log_spans,
    )
    return _run_agent(config, paths, config_source=lambda: _load(args, paths))


def _run_agent(config: TelemetryConfig, paths: AppPaths, *,
               config_source: Callable[[], TelemetryConfig] | None = None) -> int:
    """The headless agent until SIGINT/SIGTERM; SIGHUP (POSIX) reloads the rules, as
    Prometheus does. ``config_source`` re-reads the config for a reload."""
    from .net.http_server import PortInUseError
    from .runtime import AgentRuntime, AlreadyRunning

    stop = threading.Event()
    wake = threading.Event()
    hup = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        _log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()
        wake.set()

    def on_hup(_signum: int, _frame: FrameType | None) -> None:
        # Only flags here: the main loop asks the runtime (no locks in a signal handler).
        hup.set()
        wake.set()

    old_int = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    sighup = getattr(signal, "SIGHUP", None)  # not on Windows
    old_hup = signal.signal(sighup, on_hup) if sighup is not None else None
    runtime = AgentRuntime(config, paths, mode="headless", config_source=config_source)
    try:
        try:
            runtime.start()
        except AlreadyRunning as exc:
            _err(str(exc))
            return EXIT_RUNNING
        except PortInUseError as exc:
            _err(str(exc))
            return EXIT_USAGE
        except OSError as exc:
            _err(f"cannot start: {exc}")
            return EXIT_USAGE
        _log.info("running; press Ctrl-C to stop")
        # POSIX: a signal interrupts the wait and its handler sets ``wake``. Windows does
        # not interrupt a lock wait for Ctrl-C, so there the loop looks every second.
        poll_s = None if os.name == "posix" else 1.0
        while not stop.is_set():
            wake.wait(poll_s)
            wake.clear()
            if hup.is_set() and not stop.is_set():
                hup.clear()
                _log.info("received SIGHUP, reloading the rules")
                runtime.request_reload("sighup")
    finally:
        runtime.stop()
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
        if sighup is not None:
            signal.signal(sighup, old_hup)
    _log.info("stopped")
    return EXIT_OK


# -- tray ----------------------------------------------------------------------------------
def cmd_tray(args: argparse.Namespace) -> int:
    """No command (or ``run`` without ``--headless``): the tray app with the core in-process."""
    import importlib.util

    from .ui import run_tray_app

    missing = [m for m in ("PySide6", "pyqtgraph") if importlib.util.find_spec(m) is None]
    if missing:
        _err(
            f"the tray app needs {' and '.join(missing)}: pip install "
            "'timeline-telemetry[gui]', or run the agent alone with "
            "'timeline-telemetry run --headless'"
        )
        return EXIT_USAGE
    from .ui import report_startup_failure

    loaded = _load_config(args, on_invalid=lambda text, paths: report_startup_failure(
        text, folder=paths.config_dir, environ=_environ()), check_rules=True)
    if loaded is None:
        return EXIT_USAGE
    config, paths = loaded
    from .logsetup import configure_logging
    from .runtime.instance import find_running

    if find_running(paths.data_dir) is None:  # else the app says who runs, and no more
        configure_logging(
            paths,
            getattr(args, "log_level", None) or config.logging.level,
            detail=config.tracing.debug_mode or config.tracing.log_spans,
        )
    return run_tray_app(config, paths, sys.argv[:1], config_source=lambda: _load(args, paths))


# -- status ------------------------------------------------------------------------------
def cmd_status(args: argparse.Namespace) -> int:
    """``status``: the running agent's state; exit 0 running, 3 not running."""
    from .runtime.client import print_status, read_live

    paths = AppPaths.resolve(_environ())
    live = read_live(paths.data_dir)
    return print_status(live, sys.stdout, as_json=args.json, data_dir=paths.data_dir)


# -- check -------------------------------------------------------------------------------
EXIT_CHECK_CONFIG = 3


def cmd_check(args: argparse.Namespace) -> int:
    """``check``: every health check once; exit 0/1/2 by the worst status, 3 on bad config."""
    from .health import run_check_command

    loaded = _load_config(args)
    if loaded is None:
        return EXIT_CHECK_CONFIG
    config, paths = loaded
    return run_check_command(config, as_json=args.json, out=sys.stdout, data_dir=paths.data_dir)


# -- rules -------------------------------------------------------------------------------
def cmd_rules_check(args: argparse.Namespace) -> int:
    """``rules check FILE...``."""
    from .alerts import run_rules_check

    return run_rules_check([str(f) for f in args.files], sys.stdout)


def cmd_rules_test(args: argparse.Namespace) -> int:
    """``rules test FILE...``."""
    from .alerts import run_rules_test

    return run_rules_test([str(f) for f in args.files], sys.stdout)


# -- silence -----------------------------------------------------------------------------
def _alert_store_path(args: argparse.Namespace) -> Path | None:
    """Where the agent keeps alert history and silences (None: bad config, reported)."""
    loaded = _load_config(args)
    if loaded is None:
        return None
    return _alerts_db(*loaded)


def _alerts_db(config: TelemetryConfig, paths: AppPaths) -> Path:
    return Path(config.alerts.history_path or paths.data_dir / "alerts.sqlite3")


def cmd_silence_add(args: argparse.Namespace) -> int:
    """``silence add MATCHER... [--duration D | --end TIME]``."""
    from .alerts.silence_cli import run_silence_add

    loaded = _load_config(args)
    if loaded is None:
        return EXIT_USAGE
    config, paths = loaded
    store = _alerts_db(config, paths)
    duration = args.duration
    if duration is None and args.end is None:
        duration = config.alerts.default_silence_duration
    author = args.author
    if author is None:
        import getpass

        try:
            author = getpass.getuser()
        except (OSError, KeyError):  # no login name in a bare container
            author = ""
    return run_silence_add(store, args.matchers, out=sys.stdout, err=sys.stderr,
                           duration_s=duration, end=args.end, comment=args.comment,
                           author=author)


def cmd_silence_list(args: argparse.Namespace) -> int:
    """``silence list [--json] [--expired]``."""
    from .alerts.silence_cli import run_silence_list

    store = _alert_store_path(args)
    if store is None:
        return EXIT_USAGE
    return run_silence_list(store, out=sys.stdout, as_json=args.json, expired=args.expired)


def cmd_silence_expire(args: argparse.Namespace) -> int:
    """``silence expire ID...``."""
    from .alerts.silence_cli import run_silence_expire

    store = _alert_store_path(args)
    if store is None:
        return EXIT_USAGE
    return run_silence_expire(store, args.ids, out=sys.stdout, err=sys.stderr)


# -- bundle ------------------------------------------------------------------------------
def cmd_bundle(args: argparse.Namespace) -> int:
    """``bundle``: the diagnostics zip."""
    from .diagnostics import run_bundle_command
    from .redact import PseudonymPolicy

    since: float = args.since
    loaded = _load_config(args)
    if loaded is None:
        return EXIT_USAGE
    config, paths = loaded
    return run_bundle_command(
        config,
        paths,
        out=args.output,
        since_s=since,
        preview=args.preview,
        stdout=sys.stdout,
        stderr=sys.stderr,
        pseudonymize=PseudonymPolicy(users=args.pseudonymize, hosts=args.pseudonymize_hosts),
    )


# -- config ------------------------------------------------------------------------------
def cmd_config_validate(args: argparse.Namespace) -> int:
    """``config validate PATH``."""
    from .config import load_config, validate_file

    problems = validate_file(args.path)
    if not problems:  # the rule files it names, read as the agent will at start
        problems = _rule_file_problems(load_config(args.path))
    if problems:
        for p in problems:
            print(str(p), file=sys.stderr)
        n = len(problems)
        _err(f"{args.path}: {n} problem{'s' if n != 1 else ''}")
        return EXIT_USAGE
    print(f"{args.path}: OK")
    return EXIT_OK


def cmd_config_show(args: argparse.Namespace) -> int:
    """``config show``."""
    from .config import config_to_json

    loaded = _load_config(args)
    if loaded is None:
        return EXIT_USAGE
    config, _paths = loaded
    print(f"// source: {config.source}", file=sys.stderr)
    json.dump(config_to_json(config, mask_secrets=True), sys.stdout, indent=2)
    print()
    return EXIT_OK


# -- secret --------------------------------------------------------------------------------
def cmd_secret_set(args: argparse.Namespace) -> int:
    """``secret set NAME``: prompt without echo, store in the keyring."""
    from .config import SecretError, set_secret
    from .config.secrets import require_keyring, validate_secret_name

    try:  # before asking: a secret typed for nothing is a poor first experience
        validate_secret_name(args.name)
        require_keyring(args.name)
    except (SecretError, ValueError) as exc:
        _err(str(exc))
        return EXIT_USAGE
    if args.stdin or not sys.stdin.isatty():  # piped in: no prompt, no echo warning
        value = sys.stdin.readline().rstrip("\r\n")
    else:
        import getpass

        try:
            value = getpass.getpass(f"Secret for {args.name!r} (input hidden): ")
        except EOFError:
            value = ""
    if not value:
        _err("empty secret; nothing stored")
        return EXIT_USAGE
    try:
        set_secret(args.name, value)
    except SecretError as exc:
        _err(str(exc))
        return EXIT_USAGE
    print(f'stored; refer to it in the config as "keyring:{args.name}"')
    return EXIT_OK


# -- history -------------------------------------------------------------------------------
def _open_history(args: argparse.Namespace) -> HistoryStore | None:
    from .history import HistoryStore

    loaded = _load_config(args)
    if loaded is None:
        return None
    config, paths = loaded
    path = config.metrics.history.path or (paths.data_dir / "history.sqlite3")
    if not Path(path).exists():
        _err(f"no history at {path} yet (start the agent with 'timeline-telemetry run --headless')")
        return None
    return HistoryStore(Path(path), retention=config.metrics.retention_period)


def cmd_history_list(args: argparse.Namespace) -> int:
    """``history list [PREFIX]``."""
    store = _open_history(args)
    if store is None:
        return EXIT_USAGE
    with store:
        for name, labels in sorted(store.series(args.prefix), key=_series_order):
            print(name + _fmt_labels(labels))
    return EXIT_OK


def _series_order(item: tuple[str, Labels]) -> tuple[str, tuple[tuple[str, float, str], ...]]:
    """By name, then labels; histogram ``le`` bounds in numeric order (``+Inf`` last)."""
    name, labels = item
    key = []
    for k, v in labels:
        number = 0.0
        if k in ("le", "quantile"):
            with contextlib.suppress(ValueError):
                number = float(v)
        key.append((k, number, v))
    return name, tuple(key)


def cmd_history_show(args: argparse.Namespace) -> int:
    """``history show NAME``."""
    since: float = args.since
    matchers: dict[str, str] = {}
    for item in args.label:
        k, sep, v = item.partition("=")
        if not sep or not k:
            _err(f"--label {item!r}: expected K=V, e.g. --label mountpoint=/")
            return EXIT_USAGE
        matchers[k] = v
    store = _open_history(args)
    if store is None:
        return EXIT_USAGE
    end = time.time()
    with store:
        series = store.query(
            args.name, matchers, start=end - since, end=end, max_points=args.max_points
        )
    if not series:
        from .config.durations import format_duration

        _err(f"no samples of {args.name!r} in the last {format_duration(since)}")
        return EXIT_USAGE
    _print_series(series, sys.stdout, csv=args.csv)
    return EXIT_OK


def _print_series(series: list[SeriesData], out: TextIO, *, csv: bool) -> None:
    if csv:
        out.write("timestamp,series,value\n")
    for s in series:
        label = s.name + _fmt_labels(s.labels)
        if not csv:
            out.write(f"{label}\n")
        for ts, value in s.points:
            stamp = _rfc3339(ts)
            if csv:
                out.write(f'{stamp},"{label}",{value!r}\n')
            else:
                out.write(f"  {stamp}  {value:g}\n")


def _rfc3339(ts: float) -> str:
    """RFC 3339 local time with its offset (``2026-12-05T17:07:19-05:00``): the same data
    reads the same after a time-zone change, and a program parses it to the same instant."""
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).astimezone().isoformat(timespec="seconds")


def _fmt_labels(labels: Sequence[tuple[str, str]]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels) + "}"


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
