"""Pseudonyms in the bundle: the editor's log names a client's project under the user's
home, the user name in a path, a file name and a sentence, a private IP and the host name.
By default no byte of the zip holds the home path or the user name, while the host name and
the IP stay; ``--pseudonymize-hosts`` replaces those too; ``--no-pseudonymize`` keeps the
path. The manifest says what was replaced, how often, and what stays readable."""

from __future__ import annotations

import json
import re
import socket
import zipfile
from pathlib import Path

import psutil
from bundle_fixtures import Planted, fake_run

from agent_process import run_cli
from timeline_telemetry.diagnostics import build_bundle, default_bundle_name
from timeline_telemetry.redact import Identity, PseudonymPolicy

USER = "jdoe"
HOST = "edit-ws01"
PRIVATE_IP = "192.168.1.20"
WHO = Identity(user=USER, home=f"/home/{USER}", hosts=(HOST,))


def _editor_log(home: str) -> str:
    return (f"opened {home}/Videos/client_wedding.tlp\n"
            f"autosave to /mnt/media/{USER}/autosave.tlp\n"
            f"{USER} closed the project after the render\n"
            f"render node {HOST} at {PRIVATE_IP} answered\n")


def _plant(planted: Planted) -> None:
    folder = Path(planted.editor_glob).parent
    (folder / f"{USER}-session.log").write_text(_editor_log(f"/home/{USER}"))


def _build(planted: Planted, out: Path, policy: PseudonymPolicy | None) -> dict[str, bytes]:
    result = build_bundle(
        config=planted.config, paths=planted.paths, out=out, since_s=2 * 3600,
        environ=planted.environ, keyring_get=planted.keyring_get, psutil_mod=psutil,
        run=fake_run, editor_log_globs=[planted.editor_glob], process_sample_s=0.01,
        run_health_checks=False, pseudonymize=policy, identity=WHO)
    assert result.path is not None
    return _unpack(result.path)


def _unpack(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    files["(the zip itself)"] = path.read_bytes()  # member names, stored entries
    return files


def _leaks(files: dict[str, bytes], word: str) -> list[str]:
    rx = re.compile(re.escape(word).encode(), re.IGNORECASE)
    return [name for name, data in files.items() if rx.search(data) or rx.search(name.encode())]


def _editor(files: dict[str, bytes]) -> str:
    return files["editor-logs/<user-1>-session.log"].decode()


def test_by_default_no_home_path_or_user_name_in_any_byte(
    planted: Planted, tmp_path: Path
) -> None:
    _plant(planted)
    files = _build(planted, tmp_path / "b.zip", None)
    assert _leaks(files, USER) == []
    assert _editor(files) == (
        "opened ~/Videos/client_wedding.tlp\n"
        "autosave to /mnt/media/<user-1>/autosave.tlp\n"
        "<user-1> closed the project after the render\n"
        f"render node {HOST} at {PRIVATE_IP} answered\n")  # hosts are an option
    report = json.loads(files["manifest.json"])["pseudonymised"]
    assert report["home_paths_and_user_name"] is True
    assert report["host_names_and_private_ips"] is False
    assert report["flags"] == []
    assert report["counts"]["home_path"] >= 1 and report["counts"]["user_name"] >= 3
    assert report["distinct"]["user_name"] == 1
    kept = " ".join(report["not_redacted"])
    assert "client_wedding" in kept and "--pseudonymize-hosts" in kept


def test_hosts_and_private_ips_on_request(planted: Planted, tmp_path: Path) -> None:
    _plant(planted)
    files = _build(planted, tmp_path / "b.zip", PseudonymPolicy(hosts=True))
    for word in (USER, HOST, PRIVATE_IP):
        assert _leaks(files, word) == [], word
    assert "render node <host-1> at <ip-1> answered" in _editor(files)
    report = json.loads(files["manifest.json"])["pseudonymised"]
    assert report["flags"] == ["--pseudonymize-hosts"]
    assert report["counts"]["host_name"] >= 1 and report["counts"]["private_ip"] >= 1


def test_no_pseudonymize_keeps_the_path(planted: Planted, tmp_path: Path) -> None:
    _plant(planted)
    files = _build(planted, tmp_path / "b.zip", PseudonymPolicy(users=False))
    assert f"opened /home/{USER}/Videos/client_wedding.tlp" in \
        files[f"editor-logs/{USER}-session.log"].decode()
    report = json.loads(files["manifest.json"])["pseudonymised"]
    assert report["flags"] == ["--no-pseudonymize"] and report["counts"] == {}


def test_cli_flags(tmp_path: Path, app_home: Path) -> None:
    user_home = tmp_path / USER
    logs = user_home / "editor"
    logs.mkdir(parents=True)
    (logs / "studio.log").write_text(_editor_log(str(user_home)) + _editor_log(f"/home/{USER}"))
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"telemetry": {
        "metrics": {"exporters": []}, "health": {"checks": [{"Memory": {}}]},
        "editor": {"log_globs": [str(logs / "*.log")]}}}))
    env = {"HOME": str(user_home), "USER": USER, "LOGNAME": USER}

    res = run_cli("bundle", "--config", str(cfg), "-o", str(tmp_path / "a.zip"),
                  "--since", "10m", home=app_home, **env)
    assert res.returncode == 0, res.stderr
    assert "pseudonymised: " in res.stdout
    files = _unpack(tmp_path / "a.zip")
    assert _leaks(files, USER) == []
    assert "opened ~/Videos/client_wedding.tlp" in files["editor-logs/studio.log"].decode()
    assert PRIVATE_IP in files["editor-logs/studio.log"].decode()

    res = run_cli("bundle", "--config", str(cfg), "-o", str(tmp_path / "b.zip"),
                  "--since", "10m", "--no-pseudonymize", "--pseudonymize-hosts",
                  home=app_home, **env)
    assert res.returncode == 0, res.stderr
    files = _unpack(tmp_path / "b.zip")
    log = files["editor-logs/studio.log"].decode()
    assert f"opened /home/{USER}/Videos/client_wedding.tlp" in log
    assert PRIVATE_IP not in log and "<ip-1>" in log
    system = json.loads(files["system.json"])
    assert system["host_name"] == "<host-1>"  # a whole value: replaced whatever its length
    assert socket.gethostname() not in files["system.json"].decode().split('"')
    manifest = json.loads(files["manifest.json"])
    assert manifest["pseudonymised"]["flags"] == ["--no-pseudonymize", "--pseudonymize-hosts"]

    # -o naming a folder writes the default file name inside it (hosts hidden: "host")
    folder = tmp_path / "for-support"
    folder.mkdir()
    res = run_cli("bundle", "--config", str(cfg), "-o", str(folder), "--since", "10m",
                  "--pseudonymize-hosts", home=app_home, **env)
    assert res.returncode == 0, res.stderr
    (written,) = folder.iterdir()
    assert written.name.startswith("timeline-telemetry-diagnostics-host-"), written
    assert str(written) in res.stdout
    assert "manifest.json" in _unpack(written)


def test_default_file_name_hides_the_host_only_when_hosts_are_pseudonymised() -> None:
    host = socket.gethostname()
    assert default_bundle_name(hide_host=True).startswith("timeline-telemetry-diagnostics-host-")
    if host.isalnum():
        assert f"-{host}-" in default_bundle_name()
