"""The CLI's side of the local API: find the agent running for a home and read its state.

Every read is bounded (a few seconds, a few megabytes): a hung or hostile listener on the
agent's port must not hang ``status`` or ``bundle``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from timeline_telemetry.net.urls import loopback_url

from .instance import AgentInfo, find_running

__all__ = ["EXIT_NOT_RUNNING", "LiveAgent", "fetch_api", "print_status", "read_live"]

EXIT_RUNNING = 0
EXIT_NOT_RUNNING = 3
_TIMEOUT_S = 3.0
_MAX_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class LiveAgent:
    """A running agent and what its API said (None where it could not be read; ``error``
    says why)."""

    info: AgentInfo
    status: dict[str, object] | None = None
    alerts: list[object] | None = None
    health: dict[str, object] | None = None
    error: str | None = None


def fetch_api(api: str, path: str, *, timeout_s: float = _TIMEOUT_S) -> object:
    """``data`` of ``GET <api>/<path>``; ``OSError`` (or ``ValueError``) on any failure."""
    url = api.rstrip("/") + "/" + path.lstrip("/")
    url = loopback_url(url)
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout_s) as resp:
        body = resp.read(_MAX_BYTES + 1)
    if len(body) > _MAX_BYTES:
        raise ValueError(f"{url}: answer larger than {_MAX_BYTES} bytes")
    doc = json.loads(body)
    if not isinstance(doc, dict) or doc.get("status") != "success":
        raise ValueError(f"{url}: not a success answer")
    return doc.get("data")


def read_live(data_dir: Path) -> LiveAgent | None:
    """The agent running for ``data_dir`` and its live state, or None when none runs."""
    info = find_running(data_dir)
    if info is None:
        return None
    if info.api is None:
        return LiveAgent(info, error="the agent serves no local API (no listener configured: "
                         "enable the Prometheus exporter or the OTLP receiver)")
    try:
        status = fetch_api(info.api, "status")
        alerts = fetch_api(info.api, "alerts")
        health = fetch_api(info.api, "health")
    except (OSError, ValueError, urllib.error.URLError) as exc:
        return LiveAgent(info, error=f"its API at {info.api} did not answer: {exc}")
    return LiveAgent(
        info,
        status=status if isinstance(status, dict) else None,
        alerts=list(alerts.get("alerts", [])) if isinstance(alerts, dict) else None,
        health=health if isinstance(health, dict) else None)


def print_status(live: LiveAgent | None, out: TextIO, *, as_json: bool, data_dir: Path) -> int:
    """Print ``live`` for a person (or as JSON); returns 0 running, 3 not running."""
    if live is None:
        if as_json:
            out.write(json.dumps({"running": False, "data_dir": str(data_dir)}) + "\n")
        else:
            out.write(f"not running: no timeline-telemetry agent for {data_dir}\n")
        return EXIT_NOT_RUNNING
    if as_json:
        doc = {"running": True, "agent": live.info.to_json(), "status": live.status,
               "alerts": live.alerts, "error": live.error}
        out.write(json.dumps(doc, indent=2) + "\n")
        return EXIT_RUNNING
    info = live.info
    st = live.status or {}
    uptime = st.get("uptime_seconds")
    up = f", up {_human(float(uptime))}" if isinstance(uptime, int | float) else ""
    out.write(f"running: {info.mode} (pid {info.pid}, version {info.version}{up})\n")
    out.write(f"config: {info.config}\n")
    listeners = st.get("listeners") if isinstance(st.get("listeners"), dict) else info.listeners
    assert isinstance(listeners, dict)
    _section(out, "listening", {str(k): str(v) for k, v in listeners.items()})
    files = st.get("files")
    if isinstance(files, dict):
        _section(out, "writing", {str(k): str(v) for k, v in files.items()})
    if live.error:
        out.write(f"live state unavailable: {live.error}\n")
        return EXIT_RUNNING
    exporters = st.get("exporters")
    if isinstance(exporters, dict):
        rows = {}
        for name, e in exporters.items():
            if not isinstance(e, dict):
                continue
            text = str(e.get("state"))
            if e.get("detail"):
                text += f": {e['detail']}"
            elif e.get("last_error"):
                text += f" (last error at {e.get('last_error_at')}: {e['last_error']})"
            rows[str(name)] = text
        _section(out, "exporters", rows)
    alerting = st.get("alerts")
    actions = alerting.get("actions") if isinstance(alerting, dict) else None
    if isinstance(actions, dict) and actions:
        _section(out, "alert actions", {
            str(n): str(a.get("state")) + (f": {a['detail']}" if a.get("detail") else "")
            for n, a in actions.items() if isinstance(a, dict)})
    rules = st.get("rules")
    if isinstance(rules, dict) and rules.get("ok") is False:
        error = "\n  ".join(str(rules.get("error")).splitlines())
        out.write(f"warning: rule reload ({rules.get('trigger')}) at {rules.get('last_reload')} "
                  f"failed, the old rules stay:\n  {error}\n")
    if st.get("paused"):
        out.write("paused: collection, health checks and alert evaluation are held\n")
    budget = st.get("budget")
    if isinstance(budget, dict) and budget.get("reason"):
        out.write(f"self-budget: {budget['reason']}\n")
    if st.get("health") is not None:
        out.write(f"health: {st['health']}\n")
    alerts = live.alerts or []
    firing = [a for a in alerts if isinstance(a, dict) and a.get("state") == "firing"]
    pending = len(alerts) - len(firing)
    out.write(f"alerts: {len(firing)} firing, {pending} pending\n")
    for a in alerts:
        if isinstance(a, dict):
            labels = a.get("labels") if isinstance(a.get("labels"), dict) else {}
            assert isinstance(labels, dict)
            name = labels.get("alertname", "?")
            rest = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "alertname")
            out.write(f"  {name}{{{rest}}} {a.get('state')} since {a.get('activeAt')}\n")
    return EXIT_RUNNING


def _section(out: TextIO, title: str, rows: dict[str, str]) -> None:
    out.write(f"{title}:\n")
    width = max((len(k) for k in rows), default=0)
    for k, v in rows.items():
        out.write(f"  {k:<{width}}  {v}\n")


def _human(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"
