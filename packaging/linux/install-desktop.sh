#!/usr/bin/env bash
# Install the menu entry, the icons and (with --autostart) the XDG autostart entry for the
# current user. Both entries start the tray app (`timeline-telemetry` with no subcommand);
# the autostart entry has the same file name the Settings switch writes, so the two never
# run twice. `timeline-telemetry` must be on PATH (pipx install, or the PyInstaller folder
# linked into ~/.local/bin). --uninstall removes them again.
# PNG icons come from packaging/icons.py's output (ICONS_DIR, default build/icons); without
# it only the scalable SVG is installed, which every current desktop renders.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
NAME=timeline-telemetry
SVG=$ROOT/resources/icons/$NAME.svg
ICONS_DIR=${ICONS_DIR:-$ROOT/build/icons}
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
CONFIG=${XDG_CONFIG_HOME:-$HOME/.config}
APPS=$DATA/applications
HICOLOR=$DATA/icons/hicolor
AUTOSTART=$CONFIG/autostart
SIZES="16 22 24 32 48 64 128 256 512"

case "${1:-}" in
  --uninstall)
    rm -f "$APPS/$NAME.desktop" "$HICOLOR/scalable/apps/$NAME.svg" "$AUTOSTART/$NAME.desktop"
    for s in $SIZES; do rm -f "$HICOLOR/${s}x${s}/apps/$NAME.png"; done
    command -v update-desktop-database >/dev/null && update-desktop-database -q "$APPS" || true
    echo "removed"; exit 0 ;;
  ""|--autostart) ;;
  *) echo "usage: $0 [--autostart | --uninstall]" >&2; exit 2 ;;
esac
install -Dm644 "$HERE/$NAME.desktop" "$APPS/$NAME.desktop"
install -Dm644 "$SVG" "$HICOLOR/scalable/apps/$NAME.svg"
for s in $SIZES; do
  png=$ICONS_DIR/hicolor/${s}x${s}/apps/$NAME.png
  if [ -f "$png" ]; then install -Dm644 "$png" "$HICOLOR/${s}x${s}/apps/$NAME.png"; fi
done
if [ "${1:-}" = "--autostart" ]; then
  install -Dm644 "$HERE/autostart/$NAME.desktop" "$AUTOSTART/$NAME.desktop"
fi
command -v update-desktop-database >/dev/null && update-desktop-database -q "$APPS" || true
echo "installed into $APPS${1:+ and $AUTOSTART}"
