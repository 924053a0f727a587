"""PyInstaller runtime hook: runs in the frozen livecap before any of its modules, so before numba is imported.

livecap's fitting functions are `@njit(cache=True)`. In a bundle numba must write its compiled code somewhere
writable and per user (the bundle folder may be read-only, e.g. under /opt or Program Files), so point
NUMBA_CACHE_DIR at the user cache folder unless the user chose one. The .py sources of livecap are collected
next to the bytecode (module_collection_mode "pyz+py" in livecap.spec), which numba's cache locator needs.
"""

import os
import sys


def _user_cache_root() -> str:
    home = os.path.expanduser("~")
    if sys.platform == "win32":
        return os.environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Caches")
    return os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")


if not os.environ.get("NUMBA_CACHE_DIR"):
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(_user_cache_root(), "livecap", "numba")

# The modules with cached numba functions are collected as plain .py files (see livecap.spec). Do not write their
# __pycache__ into the bundle folder: it may be read-only, and changing it would break a code signature.
sys.dont_write_bytecode = True
