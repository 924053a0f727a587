"""`livecap run`: the engine live without a window, with one status line, until the source ends, a duration
passes, Ctrl-C or SIGTERM (which stop capture and flush every sink, then end the command with 130 or 143)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from livecap.app import messages
from livecap.engine import Engine, EngineConfig, EngineStatus
from livecap.errors import LivecapError
from livecap.sinks import Sink, check_outputs

TERMINAL_REFRESH_S = 0.5
LOG_REFRESH_S = 5.0  # when stderr is a file: a line every few seconds, not a flood


def run_live(config: EngineConfig, sinks: list[Sink], duration: float | None = None,
             out: TextIO = sys.stderr) -> EngineStatus:
    """Every output is checked before the source is opened: one that cannot be written fails at once."""
    check_outputs(sinks)
    engine = Engine(config, sinks)
    terminal = out.isatty()
    interrupted: KeyboardInterrupt | None = None
    try:
        engine.start()
        started = time.monotonic()
        while not engine.wait(TERMINAL_REFRESH_S if terminal else LOG_REFRESH_S):
            _show(engine.status(), out, terminal)
            if duration is not None and time.monotonic() - started >= duration:
                break
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (livecap.app.cli): stop as cleanly as at the end
        interrupted = exc
    finally:
        status = engine.stop()
    if terminal:
        out.write("\n")
    out.write(f"livecap: {'interrupted, ' if interrupted is not None else ''}{status.frames} of {status.captured} frames "
              f"processed; {status.line()}\n")
    if status.failed_outputs and (interrupted is not None or status.state == "failed"):
        out.write(f"livecap: {messages.failed_outputs(status)}\n")  # the command's last line will not name them
    if interrupted is not None:
        raise interrupted
    if status.state == "failed":
        raise LivecapError(status.message)
    return status


def _show(status: EngineStatus, out: TextIO, terminal: bool) -> None:
    if terminal:
        out.write("\r" + status.line()[:200].ljust(120))
    else:
        out.write(f"livecap: {status.line()}\n")
    out.flush()
