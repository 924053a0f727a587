"""`livecap bvh blender FILE...`: imports a take's BVH files into one Blender scene by running Blender with the
import script shipped beside this module (blender_import.py, run by Blender's own Python)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from livecap.errors import LivecapError

SCRIPT = Path(__file__).with_name("blender_import.py")
INSTALL_HINT = "install Blender (Debian/Ubuntu: apt-get install blender; or blender.org) or give --blender PATH"


class BlenderError(LivecapError):
    """Blender is missing or could not import the files."""


def find_blender(given: str | None) -> str:
    found = shutil.which(given or "blender")
    if found is None:
        what = f"Blender {given!r} is not an executable" if given else "Blender is not on the PATH"
        raise BlenderError(f"{what}: {INSTALL_HINT}")
    return found


def blender_command(blender: str, files: list[Path], save: Path | None) -> list[str]:
    """Headless with --save; otherwise Blender opens its window with the scene."""
    command = [blender, *(["-b"] if save else []), "--factory-startup", "--python-exit-code", "1", "-P", str(SCRIPT),
               "--", *map(str, files)]
    return command + (["--save", str(save)] if save else [])


def import_into_blender(files: list[str], blender: str | None = None, save: str | None = None) -> str:
    """Runs Blender on the files; its import lines as the result. BlenderError naming the problem and the fix."""
    paths = [Path(f).resolve() for f in files]
    for path in paths:
        if not path.is_file():
            raise BlenderError(f"{path} does not exist: give the BVH files of a take (DIR/<take>_person*.bvh)")
    target = Path(save).resolve() if save else None
    if target is not None and not target.parent.is_dir():
        raise BlenderError(f"cannot save to {target}: the folder {target.parent} does not exist")
    if target is None and sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                                   or os.environ.get("WAYLAND_DISPLAY")):
        raise BlenderError("no display to open Blender's window on: give --save scene.blend to import headless")
    done = subprocess.run(blender_command(find_blender(blender), paths, target), capture_output=True, text=True)
    ours = [line for line in done.stdout.splitlines() if line.startswith(("imported ", "saved "))]
    if done.returncode != 0 or (target is not None and not target.is_file()):
        last = next((line for line in reversed((done.stderr + done.stdout).splitlines()) if line.strip()), "")
        raise BlenderError(f"Blender could not import the files (exit {done.returncode}): {last.strip()}")
    return "\n".join(ours)
