"""A virtual X display for running the real window without a screen (tests, screenshots, the viewer benchmark).
Needs the Debian package xvfb (and the xcb / Mesa libraries listed in docs/desktop-app.md)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path


class Xvfb:
    """Starts Xvfb on a free display number; `with Xvfb() as display:` sets DISPLAY for this process."""

    def __init__(self, size: str = "1600x1000x24"):
        self.size = size
        self.process: subprocess.Popen | None = None
        self.display: str | None = None
        self._previous: dict[str, str | None] = {}

    @staticmethod
    def available() -> bool:
        return shutil.which("Xvfb") is not None

    def start(self) -> str:
        if not self.available():
            raise RuntimeError("Xvfb is not installed: apt-get install xvfb (see docs/desktop-app.md)")
        for number in range(90, 140):
            if Path(f"/tmp/.X{number}-lock").exists() or Path(f"/tmp/.X11-unix/X{number}").exists():
                continue
            # A watchdog shell owns Xvfb and ends it once this process has gone: a QApplication still alive at
            # interpreter exit (pytest-qt keeps one for the session) must not find its X server killed under it
            # (Xlib then exits the process with an I/O error and a failing status).
            script = (f"Xvfb :{number} -screen 0 {self.size} -nolisten tcp +extension GLX & x=$!; "
                      f"while kill -0 {os.getpid()} 2>/dev/null && kill -0 $x 2>/dev/null; do sleep 0.5; done; "
                      f"kill $x 2>/dev/null")
            process = subprocess.Popen(["sh", "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       start_new_session=True)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and process.poll() is None:
                if Path(f"/tmp/.X11-unix/X{number}").exists():
                    self.process, self.display = process, f":{number}"
                    self._set_env()
                    return self.display
                time.sleep(0.05)
            _kill_group(process)
        raise RuntimeError("Xvfb did not start on any display from :90 to :139")

    def _set_env(self) -> None:
        # xcb: the real X platform; offscreen would not give the GL view a context
        for key, value in (("DISPLAY", self.display), ("QT_QPA_PLATFORM", "xcb")):
            self._previous[key] = os.environ.get(key)
            os.environ[key] = value

    def stop(self) -> None:
        """Ends Xvfb now: only once no Qt application uses the display any more (otherwise leave it to the
        watchdog, which ends it with this process)."""
        if self.process is not None:
            _kill_group(self.process)
            self.process = None
        for key, value in self._previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _kill_group(process: subprocess.Popen) -> None:
    """Ends the watchdog and its Xvfb: they run in a session (and process group) of their own."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(5)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
