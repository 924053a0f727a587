"""`livecap run`: the engine live without a window, with one status line, until the source ends, a duration
passes or Ctrl-C (which stops capture and flushes every sink)."""

from __future__ import annotations

import signal
import sys
import time
from typing import TextIO

from livecap.engine import Engine, EngineConfig, EngineStatus
from livecap.errors import LivecapError
from livecap.sinks import Sink

TERMINAL_REFRESH_S = 0.5
LOG_REFRESH_S = 5.0  # when stderr is a file: a line every few seconds, not a flood


def run_live(config: EngineConfig, sinks: list[Sink], duration: float | None = None,
             out: TextIO = sys.stderr) -> EngineStatus:
    engine = Engine(config, sinks)
    terminal = out.isatty()
    interrupted = False
    try:
        _start_with_signals_for_the_main_thread_only(engine)
        started = time.monotonic()
        while not engine.wait(TERMINAL_REFRESH_S if terminal else LOG_REFRESH_S):
            _show(engine.status(), out, terminal)
            if duration is not None and time.monotonic() - started >= duration:
                break
    except KeyboardInterrupt:
        interrupted = True
    finally:
        status = engine.stop()
    if terminal:
        out.write("\n")
    out.write(f"livecap: {'interrupted, ' if interrupted else ''}{status.frames} of {status.captured} frames "
              f"processed; {status.line()}\n")
    if status.state == "failed":
        raise LivecapError(status.message)
    return status


def _start_with_signals_for_the_main_thread_only(engine: Engine) -> None:
    """Threads inherit the signal mask of the thread that creates them: with SIGINT blocked while the engine
    creates its threads (and ONNX Runtime its thread pools), Ctrl-C reaches only the main thread. Delivered to a
    native worker thread instead, it aborted the process at exit."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no signal masks, and no such delivery either
        engine.start()
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        engine.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _show(status: EngineStatus, out: TextIO, terminal: bool) -> None:
    if terminal:
        out.write("\r" + status.line()[:200].ljust(120))
    else:
        out.write(f"livecap: {status.line()}\n")
    out.flush()
