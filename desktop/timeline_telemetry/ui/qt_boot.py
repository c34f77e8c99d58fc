"""Loading Qt without PySide6's per-import source cache.

From the moment shiboken loads, PySide6 checks every module imported after it for
``from __feature__ import ...`` by reading the module's whole source through
``inspect.getsource``, and ``inspect`` keeps each file it read in ``linecache`` for the
life of the process. For the tray that is every module of the core, the OpenTelemetry and
protobuf packages and half the standard library: about 8 MB of resident memory held for
nothing, since this app never selects a PySide feature. :func:`load_qt` loads Qt, makes
that check read the file without caching it (same answer: does it mention ``PySide6``)
and empties what was cached before. Should a PySide6 release rename the hook, the check
stays as PySide6 ships it and only the memory is lost (``tests/ui/test_qt_boot.py`` says so).
"""

from __future__ import annotations

import linecache
import sys
from types import ModuleType

__all__ = ["load_qt", "mentions_pyside"]

_FEATURE_MODULE = "PySide6.support.feature"
_HOOK = "_mod_uses_pyside"


def mentions_pyside(module: ModuleType) -> bool:
    """PySide6's own test (does the source mention ``PySide6``?), reading the file once."""
    path = getattr(module, "__file__", None)
    if not isinstance(path, str) or not path.endswith(".py"):
        return False  # built-in, extension or source-less: inspect.getsource fails there too
    try:
        with open(path, "rb") as source:
            return b"PySide6" in source.read()
    except OSError:
        return False


def load_qt() -> bool:
    """Import Qt and swap the caching source check; True when the swap took place."""
    import PySide6.QtCore  # noqa: F401  (loads shiboken and, with it, the import hook)

    feature = sys.modules.get(_FEATURE_MODULE)
    swapped = feature is not None and callable(getattr(feature, _HOOK, None))
    if swapped:
        setattr(feature, _HOOK, mentions_pyside)
    linecache.clearcache()
    return swapped
