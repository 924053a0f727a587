"""Checks that an output can be written, made before any work starts (livecap.sinks.check_outputs): a typo in a
path fails the command at once, in one line, instead of after the models loaded or the whole video ran. They
leave nothing behind: the outputs themselves are created when their sink starts."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from livecap.errors import OutputError


def check_file(path: Path, what: str, flag: str) -> None:
    """`path` can be created, or appended to where it exists (a check that must not truncate it)."""
    path = Path(path)
    folder = path.parent
    try:
        if path.is_dir():
            raise OutputError(f"cannot write {what} to {path}: it is a folder; give {flag} a file name")
        if not folder.is_dir():
            problem = (f"{folder} is a file, not a folder;" if folder.exists() else
                       f"the folder {folder} does not exist; create it or")
            raise OutputError(f"cannot write {what} to {path}: {problem} choose another {flag} path")
        if path.exists():
            open(path, "ab").close()
        else:
            open(path, "xb").close()
            os.unlink(path)
    except OSError as exc:
        raise OutputError(f"cannot write {what} to {path} ({exc.strerror or exc}): choose a writable {flag} "
                          f"path") from None


def check_folder(path: Path, what: str, flag: str) -> None:
    """`path` is a folder that can be written in, or can be created (in the nearest folder that exists)."""
    path = Path(path)
    try:
        existing = _nearest_existing(path)
        if not existing.is_dir():
            raise OutputError(f"cannot create the {what} {path}: {existing} is a file, not a folder; choose "
                              f"another {flag} folder")
        with tempfile.TemporaryFile(dir=existing):  # what creating a file there does, without leaving one
            pass
    except OSError as exc:
        action = "write in" if path.is_dir() else "create"
        raise OutputError(f"cannot {action} the {what} {path} ({exc.strerror or exc}): choose a writable {flag} "
                          f"folder") from None


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path.parent != path:
        path = path.parent
    return path
