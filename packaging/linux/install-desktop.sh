#!/usr/bin/env bash
# Install the menu entry, the icon and (with --autostart) the XDG autostart entry for the
# current user. `timeline-telemetry` must be on PATH (pip install, or the PyInstaller folder
# linked into ~/.local/bin). --uninstall removes them again.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ICON=$HERE/../../resources/icons/timeline-telemetry.svg
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
CONFIG=${XDG_CONFIG_HOME:-$HOME/.config}
APPS=$DATA/applications
ICONS=$DATA/icons/hicolor/scalable/apps
AUTOSTART=$CONFIG/autostart

case "${1:-}" in
  --uninstall)
    rm -f "$APPS/timeline-telemetry.desktop" "$ICONS/timeline-telemetry.svg" \
          "$AUTOSTART/timeline-telemetry.desktop"
    echo "removed"; exit 0 ;;
  ""|--autostart) ;;
  *) echo "usage: $0 [--autostart | --uninstall]" >&2; exit 2 ;;
esac
install -Dm644 "$HERE/timeline-telemetry.desktop" "$APPS/timeline-telemetry.desktop"
install -Dm644 "$ICON" "$ICONS/timeline-telemetry.svg"
if [ "${1:-}" = "--autostart" ]; then
  install -Dm644 "$HERE/timeline-telemetry-autostart.desktop" \
    "$AUTOSTART/timeline-telemetry.desktop"
fi
command -v update-desktop-database >/dev/null && update-desktop-database -q "$APPS" || true
echo "installed into $APPS${1:+ and $AUTOSTART}"
