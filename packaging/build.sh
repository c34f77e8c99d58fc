#!/usr/bin/env bash
# Build the one-folder PyInstaller bundle (dist/timeline-telemetry/) and smoke-test it:
# `--version`, then a headless run that must serve /metrics and stop cleanly on SIGTERM.
#   bash packaging/build.sh            # Linux/macOS (Windows: see packaging/README.md)
# Uses a scratch venv (build/pyinstaller-venv) so the dev environment is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON:-python3}
VENV=$ROOT/build/pyinstaller-venv
export PIP_DISABLE_PIP_VERSION_CHECK=1

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q "pyinstaller>=6.10,<7" "$ROOT${EXTRAS:-}"
"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" packaging/timeline-telemetry.spec

BIN=$ROOT/dist/timeline-telemetry/timeline-telemetry
echo "== smoke: --version"
"$BIN" --version

echo "== smoke: headless run"
SMOKE=$(mktemp -d)
trap 'rm -rf "$SMOKE"' EXIT
cat > "$SMOKE/config.json" <<'JSON'
{"telemetry": {"metrics": {"collection_interval": "1s",
  "exporters": [{"Prometheus": {"port": 0}}]},
  "ingest": {"otlp": {"port": 0}}, "health": {"checks": []}}}
JSON
TIMELINE_TELEMETRY_HOME=$SMOKE/home PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring \
  "$BIN" run --headless --config "$SMOKE/config.json" 2>"$SMOKE/agent.log" &
PID=$!
URL=""
for _ in $(seq 1 150); do
  URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*/metrics' "$SMOKE/agent.log" | head -1 || true)
  [ -n "$URL" ] && break
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.2
done
if [ -z "$URL" ]; then
  cat "$SMOKE/agent.log"; kill "$PID" 2>/dev/null || true
  echo "smoke run: the agent never served /metrics" >&2; exit 1
fi
"$VENV/bin/python" - "$URL" <<'PYEOF'
import sys, time, urllib.request
deadline = time.monotonic() + 30
while True:
    body = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
    if "system_memory_total_bytes" in body:
        break
    if time.monotonic() > deadline:
        sys.exit("smoke run: no system metrics in /metrics")
    time.sleep(0.5)
PYEOF
kill -TERM "$PID"
wait "$PID"
echo "== ok: $(du -sh "$ROOT/dist/timeline-telemetry" | cut -f1) in dist/timeline-telemetry"
