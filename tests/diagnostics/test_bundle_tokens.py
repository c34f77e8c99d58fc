"""Token-shaped secrets in the editor's logs (AWS key ids, GitHub and Slack tokens, JWTs,
PEM private keys, ``password=`` pairs, bearer credentials) are scrubbed from a real bundle,
counted by kind in the manifest, and ordinary text next to them is left as it was."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import psutil
from bundle_fixtures import Planted, fake_run

import secret_samples as tokens
from timeline_telemetry.diagnostics import build_bundle


def test_every_token_kind_is_scrubbed_from_editor_logs(planted: Planted, tmp_path: Path) -> None:
    editor_dir = Path(planted.editor_glob).parent
    lines = [*tokens.INNOCENT, *tokens.secret_lines(), *tokens.INNOCENT]
    (editor_dir / "tokens.log").write_text("\n".join(lines) + "\n")
    result = build_bundle(
        config=planted.config, paths=planted.paths, out=tmp_path / "b.zip", since_s=7200,
        environ=planted.environ, keyring_get=planted.keyring_get, psutil_mod=psutil,
        run=fake_run, editor_log_globs=[planted.editor_glob], process_sample_s=0.01,
        run_health_checks=False,
    )
    assert result.path is not None
    with zipfile.ZipFile(result.path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    for name, data in files.items():
        for secret in tokens.ALL:
            assert secret.encode() not in data, f"{secret} leaked into {name}"
    log = files["editor-logs/tokens.log"].decode()
    for text in tokens.INNOCENT:
        assert log.count(text) == 2, text  # nothing around the secrets was over-redacted
    assert "-----BEGIN RSA PRIVATE KEY-----***" in log
    scrubbed = json.loads(files["manifest.json"])["scrubbed"]
    assert scrubbed["aws_access_key"] == 2
    assert scrubbed["github_token"] == 6
    assert scrubbed["slack_token"] == 1
    assert scrubbed["jwt"] == 1
    assert scrubbed["pem_private_key"] == 1
    assert scrubbed["bearer"] >= 1
    assert scrubbed["secret_key"] >= len(tokens.PAIRS) + 1
