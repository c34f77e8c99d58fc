"""Render the application icon (resources/icons/timeline-telemetry.svg) for the desktops.

    python packaging/icons.py [--svg SVG] [--out build/icons]

writes, under ``--out``:

- ``hicolor/<n>x<n>/apps/timeline-telemetry.png`` for the freedesktop hicolor sizes 16..512
  (plus ``hicolor/scalable/apps/timeline-telemetry.svg``), what
  ``packaging/linux/install-desktop.sh`` installs;
- ``timeline-telemetry.ico`` (Windows: 16..256, PNG-compressed entries, as Windows Vista and
  later read them), used by the PyInstaller spec;
- ``timeline-telemetry.icns`` (macOS: 16..1024, PNG entries ``icp4``..``ic10``).

The SVG is rendered by Qt's own SVG renderer (PySide6's QtSvg, offscreen: no display needed);
the ``.ico`` and ``.icns`` containers are written here (both are a small header and a table of
PNGs), so no Qt image plugin or Pillow is required. Generated, not committed: packaging/build.sh
and .ci/run run this; tests/resources/test_packaging.py checks the output.
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "icons" / "timeline-telemetry.svg"
NAME = "timeline-telemetry"
HICOLOR_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
#: ICNS element types holding PNG data, by pixel size (Apple's "icp4".."ic10").
ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08",
              512: b"ic09", 1024: b"ic10"}


def render_png(svg: Path, size: int) -> bytes:
    """``svg`` rendered at ``size`` x ``size`` pixels, as PNG bytes (transparent background)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg}: not an SVG Qt can render")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buf, "PNG"):  # type: ignore[call-overload]  # the stubs say bytes; str works
        raise OSError("Qt could not encode a PNG")
    buf.close()
    return bytes(data.data())


def ico(pngs: dict[int, bytes]) -> bytes:
    """An ICO file holding ``pngs`` (size -> PNG bytes; sizes up to 256)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, blobs = b"", b""
    for size in sizes:
        blob = pngs[size]
        dim = 0 if size >= 256 else size  # 0 means 256 in an ICONDIRENTRY
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset)
        offset += len(blob)
        blobs += blob
    return header + entries + blobs


def icns(pngs: dict[int, bytes]) -> bytes:
    """An ICNS file holding ``pngs`` (size -> PNG bytes; sizes in :data:`ICNS_TYPES`)."""
    body = b"".join(ICNS_TYPES[size] + struct.pack(">I", 8 + len(pngs[size])) + pngs[size]
                    for size in sorted(pngs))
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def generate(svg: Path = SVG, out: Path = ROOT / "build" / "icons") -> list[Path]:
    """Write every icon under ``out``; returns the files written."""
    sizes = sorted(set(HICOLOR_SIZES) | set(ICO_SIZES) | set(ICNS_TYPES))
    pngs = {size: render_png(svg, size) for size in sizes}
    written: list[Path] = []
    for size in HICOLOR_SIZES:
        path = out / "hicolor" / f"{size}x{size}" / "apps" / f"{NAME}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pngs[size])
        written.append(path)
    scalable = out / "hicolor" / "scalable" / "apps" / f"{NAME}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(svg, scalable)
    written.append(scalable)
    for path, data in ((out / f"{NAME}.ico", ico({s: pngs[s] for s in ICO_SIZES})),
                       (out / f"{NAME}.icns", icns({s: pngs[s] for s in ICNS_TYPES}))):
        path.write_bytes(data)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--svg", type=Path, default=SVG)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "icons")
    args = parser.parse_args(argv)
    files = generate(args.svg, args.out)
    print(f"wrote {len(files)} icons under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
