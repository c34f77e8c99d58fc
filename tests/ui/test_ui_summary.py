"""Qt-free helpers of the tray: icon state, tooltip text, plot rates, autostart entry."""

from __future__ import annotations

from pathlib import Path

from timeline_telemetry.health import HealthCheckResult, HealthReport, HealthStatus
from timeline_telemetry.metrics import Metrics
from timeline_telemetry.ui.autostart import autostart_enabled, autostart_file, set_autostart
from timeline_telemetry.ui.dashboard.plotspec import legend, rate
from timeline_telemetry.ui.summary import icon_state, tooltip_text


def _report(status: HealthStatus) -> HealthReport:
    res = HealthCheckResult(status, "97% used", 1.0)
    return HealthReport(status, {"disk": res}, {"disk": "disk_space"}, frozenset({"disk"}),
                        1, 1.0)


def test_icon_state() -> None:
    assert icon_state(None, paused=False) == "unknown"
    assert icon_state(_report(HealthStatus.WARNING), paused=False) == "warning"
    assert icon_state(_report(HealthStatus.UNHEALTHY), paused=True) == "paused"


def test_tooltip_lists_health_cpu_memory_gpu_editor() -> None:
    m = Metrics()
    m.set_gauge("system_cpu_usage_percent", 42.4)
    m.set_gauge("system_memory_usage_bytes", 4 * 2**30)
    m.set_gauge("system_memory_total_bytes", 16 * 2**30)
    m.set_gauge("editor_up", 1)
    m.set_gauge("editor_cpu_usage_percent", 12)
    m.set_gauge("editor_memory_rss_bytes", 2**30)
    text = tooltip_text(_report(HealthStatus.WARNING), m.snapshot(), paused=False)
    assert text.splitlines() == [
        "Timeline Telemetry: Warning",
        "Attention: disk",
        "CPU: 42%",
        "Memory: 4.0 GiB of 16.0 GiB",
        "GPU: none detected",
        "Editor: running, CPU 12%, 1.0 GiB",
    ]
    assert "Editor: not running" in tooltip_text(None, None, paused=True)
    assert tooltip_text(None, None, paused=True).startswith("Timeline Telemetry: unknown (paused)")


def test_rate_and_legend() -> None:
    assert rate([(0, 10), (2, 30), (3, 5), (4, 7)]) == [(2, 10.0), (4, 2.0)]
    assert legend("system_disk_read_bytes_total", (("device", "sda"),)) == \
        "disk_read_bytes{device=sda}"


def test_autostart_writes_and_removes_desktop_entry(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path), "HOME": str(tmp_path / "home")}
    assert not autostart_enabled(env)
    path = set_autostart(True, command=["/opt/tt/bin/timeline-telemetry"], environ=env)
    assert path == tmp_path / "autostart" / "timeline-telemetry.desktop"
    text = path.read_text()
    assert "Exec=/opt/tt/bin/timeline-telemetry\n" in text and "Type=Application" in text
    assert autostart_enabled(env)
    set_autostart(False, environ=env)
    assert not path.exists()
    assert autostart_file({"HOME": str(tmp_path)}) == tmp_path / ".config/autostart" / path.name


def test_packaged_icons_match_resources() -> None:
    repo = Path(__file__).resolve().parents[2]
    src = repo / "resources" / "icons"
    pkg = repo / "desktop" / "timeline_telemetry" / "ui" / "icons"
    states = ("healthy", "warning", "unhealthy", "unknown", "paused")
    names = sorted(f"{s}-{t}.svg" for s in states for t in ("light", "dark"))
    assert names == sorted(p.name for p in pkg.glob("*.svg"))
    for n in names:
        assert (src / n).read_bytes() == (pkg / n).read_bytes(), n


def test_tooltip_says_when_sampling_less() -> None:
    from timeline_telemetry.metrics import MetricKind, Metrics
    from timeline_telemetry.ui.summary import tooltip_text

    m = Metrics()
    m.replace_series("telemetry_sampling_reduced", MetricKind.GAUGE,
                     [((("reason", "budget"),), 0.0), ((("reason", "render"),), 1.0)])
    text = tooltip_text(None, m.snapshot(), paused=False)
    assert text.splitlines()[-1] == "Sampling less: the editor is rendering"
