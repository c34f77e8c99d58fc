#!/usr/bin/env bash
# A short headless run of an installed `timeline-telemetry` (the PyInstaller folder, the pipx
# copy): it must serve /metrics with system metrics and exit 0 on SIGTERM.
#   bash packaging/smoke-run.sh BIN PYTHON [HOME]
# BIN: the timeline-telemetry executable; PYTHON: any Python 3 to poll /metrics with; HOME
# (optional): a throwaway home for the run. Its state goes to a temp dir, removed at exit.
set -euo pipefail
BIN=$1 PY=$2 RUN_HOME=${3:-$HOME}
WORK=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
cat > "$WORK/config.json" <<'JSON'
{"telemetry": {"metrics": {"collection_interval": "1s",
  "exporters": [{"Prometheus": {"port": 0}}]},
  "ingest": {"otlp": {"port": 0}}, "health": {"checks": []}}}
JSON
HOME=$RUN_HOME TIMELINE_TELEMETRY_HOME=$WORK/tt PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring \
  "$BIN" run --headless --config "$WORK/config.json" 2>"$WORK/agent.log" &
PID=$!
URL=""
for _ in $(seq 1 150); do
  URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*/metrics' "$WORK/agent.log" | head -1 || true)
  [ -n "$URL" ] && break
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.2
done
if [ -z "$URL" ]; then
  cat "$WORK/agent.log"
  echo "smoke run: the agent never served /metrics" >&2; exit 1
fi
"$PY" - "$URL" <<'PYEOF'
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
PID=""
