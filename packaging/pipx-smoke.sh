#!/usr/bin/env bash
# Install as people install tools: build the wheel, install it with pipx into a clean, throwaway
# PIPX_HOME / PIPX_BIN_DIR (nothing of the dev .venv or the user's ~/.local is used), then run
# `timeline-telemetry --version` and a short headless run from the pipx copy: it must serve
# /metrics with system metrics and stop cleanly (exit 0) on SIGTERM.
#   bash packaging/pipx-smoke.sh          # .ci/run runs this
# The headless agent needs no extras; the tray is `pipx install "<wheel>[gui]"` (README).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1
WORK=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

echo "== wheel"
"$PY" -m venv "$WORK/tools"
"$WORK/tools/bin/python" -m pip install -q "pipx>=1.5"
"$WORK/tools/bin/python" -m pip wheel -q --no-deps -w "$WORK/dist" "$ROOT"
WHEEL=$(ls "$WORK"/dist/timeline_telemetry-*.whl)
echo "built $(basename "$WHEEL")"

echo "== pipx install (PIPX_HOME in a temp dir)"
export PIPX_HOME=$WORK/pipx PIPX_BIN_DIR=$WORK/bin PIPX_MAN_DIR=$WORK/man
export PIPX_DEFAULT_PYTHON=$PY
"$WORK/tools/bin/pipx" install --quiet "$WHEEL"
BIN=$WORK/bin/timeline-telemetry
[ -x "$BIN" ] || { echo "pipx put no timeline-telemetry in PIPX_BIN_DIR" >&2; exit 1; }
[ -x "$WORK/bin/timeline-telemetry-tray" ] || { echo "no timeline-telemetry-tray" >&2; exit 1; }

echo "== smoke: --version"
"$BIN" --version | grep -E '^timeline-telemetry [0-9]'

echo "== smoke: headless run from the pipx install"
mkdir -p "$WORK/home"
bash "$ROOT/packaging/smoke-run.sh" "$BIN" "$WORK/tools/bin/python" "$WORK/home"
echo "== ok: pipx install of $(basename "$WHEEL") runs"
