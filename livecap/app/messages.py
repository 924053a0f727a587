"""What the command line writes to stderr: livecap's own lines, each failure once.

OpenCV and FFmpeg print from C on their own (FFmpeg's "moov atom not found", OpenCV's "[ WARN ]" lines) before
livecap can say the same in one line with the fix; they are quieted unless asked for (-v, or their own
environment variables, which are left as the user set them)."""

from __future__ import annotations

import logging
import os

from livecap.workers import SINK_FAILURE

COMMANDS_NAMING_FAILED_OUTPUTS = ("process", "run")


OPENCV_SILENT, OPENCV_ERROR = 0, 2  # OpenCV's LOG_LEVEL_SILENT and LOG_LEVEL_ERROR


def set_opencv_log_level(level: int) -> None:
    """OpenCV 4.8 has the call at the top level, later versions in cv2.utils.logging only."""
    import cv2

    logging_module = getattr(cv2.utils, "logging", None)
    (cv2.setLogLevel if logging_module is None else logging_module.setLogLevel)(level)


def quiet_native_libraries() -> None:
    """OpenCV's and FFmpeg's own messages off, for this process and the workers it starts."""
    if "OPENCV_LOG_LEVEL" not in os.environ:
        os.environ["OPENCV_LOG_LEVEL"] = "SILENT"  # for the worker processes this one starts
        set_opencv_log_level(OPENCV_SILENT)  # this process read it importing cv2
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET, read when OpenCV first opens a video


class _NamedAtTheEnd(logging.Filter):
    """`process` and `run` end with one error line naming every output that failed, and show the failure meanwhile
    in their progress or status line: the sink worker's own report when the output stops would say it twice."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, SINK_FAILURE, False)


def configure(command: str | None, verbose: bool) -> None:
    """livecap's log lines on stderr, and the libraries' quieted, for this command."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("livecap: %(message)s"))
    if command in COMMANDS_NAMING_FAILED_OUTPUTS and not verbose:
        handler.addFilter(_NamedAtTheEnd())
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])
    if not verbose:
        quiet_native_libraries()


def failed_outputs(status) -> str:
    """One line naming every output that failed mid-run, with its error (which says the fix), and those that
    completed. `status`: an EngineStatus."""
    others = [sink.name for sink in status.sinks if not sink.error]
    return ("; ".join(f"the {sink.name} output failed: {sink.error}" for sink in status.failed_outputs)
            + (f" (completed: {', '.join(others)})" if others else ""))
