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
# PNG/ICO/ICNS icons from the SVG (needs PySide6: the build venv with EXTRAS=[gui], else the
# dev .venv); without PySide6 the bundle is built without an embedded icon.
for ICON_PY in "$VENV/bin/python" "$ROOT/.venv/bin/python"; do
  if [ -x "$ICON_PY" ] && "$ICON_PY" -c "import PySide6.QtSvg" 2>/dev/null; then
    "$ICON_PY" packaging/icons.py --out "$ROOT/build/icons"
    break
  fi
done
"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" packaging/timeline-telemetry.spec

BIN=$ROOT/dist/timeline-telemetry/timeline-telemetry
echo "== smoke: --version"
"$BIN" --version

echo "== smoke: headless run"
bash "$ROOT/packaging/smoke-run.sh" "$BIN" "$VENV/bin/python"
echo "== ok: $(du -sh "$ROOT/dist/timeline-telemetry" | cut -f1) in dist/timeline-telemetry"
