"""Live frame readers for the engine: webcams, network streams, and video files played as if they were cameras.

A reader opens, reads one image at a time (None at the end of a file), and closes. The engine's capture thread
owns the reader: it retries one that fails and keeps only the newest image. Each reader says what it delivers.
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from livecap.errors import SourceError
from livecap.sources import open_file_source

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


@dataclass(frozen=True)
class CaptureRequest:
    """What to ask a camera for; it may deliver something else (the reader reports what)."""

    width: int | None = None
    height: int | None = None
    fps: float | None = None
    mjpg: bool = True  # USB cameras deliver high resolutions at full rate only as MJPG


@dataclass(frozen=True)
class CaptureMode:
    width: int
    height: int
    fps: float
    codec: str = ""

    def __str__(self) -> str:
        return f"{self.width}x{self.height} @ {self.fps:.4g} fps" + (f" {self.codec}" if self.codec else "")


class FrameReader(Protocol):
    description: str
    live: bool  # a camera or stream: reconnect when it fails; a file: its end is the end
    mode: CaptureMode

    def read(self) -> np.ndarray | None:
        """The next image (BGR), None at the end of a file; raises SourceError when the device fails."""

    def close(self) -> None: ...


def _fourcc(capture: cv2.VideoCapture) -> str:
    code = int(capture.get(cv2.CAP_PROP_FOURCC))
    text = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4))
    return text if text.isprintable() and text.strip() else ""


class OpenCvReader:
    """A webcam (by index) or a network stream (RTSP / HTTP URL) through cv2.VideoCapture."""

    live = True

    def __init__(self, target: int | str, request: CaptureRequest | None = None):
        self.description = f"camera {target}" if isinstance(target, int) else str(target)
        self.capture = cv2.VideoCapture(target)
        if not self.capture.isOpened():
            self.capture.release()
            fix = ("check that it is plugged in and not used by another program (`livecap cameras` lists them)"
                   if isinstance(target, int) else "check the URL and that the stream is running")
            raise SourceError(f"cannot open {self.description}: {fix}")
        if isinstance(target, int) and request is not None:
            self._ask(request)
        self.mode = CaptureMode(int(self.capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                                int(self.capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                                float(self.capture.get(cv2.CAP_PROP_FPS) or 0.0), _fourcc(self.capture))

    def _ask(self, request: CaptureRequest) -> None:
        # order matters to many drivers: codec first, then size, then rate
        if request.mjpg:
            self.capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        if request.width and request.height:
            self.capture.set(cv2.CAP_PROP_FRAME_WIDTH, request.width)
            self.capture.set(cv2.CAP_PROP_FRAME_HEIGHT, request.height)
        if request.fps:
            self.capture.set(cv2.CAP_PROP_FPS, request.fps)

    def read(self) -> np.ndarray | None:
        ok, image = self.capture.read()
        if not ok:
            raise SourceError(f"{self.description} stopped delivering frames")
        return image

    def close(self) -> None:
        self.capture.release()


class FileReader:
    """A video file or image folder (livecap.sources), read as fast as it is asked for, or paced at its frame
    rate as a camera would deliver it."""

    live = False

    def __init__(self, path: str | Path, paced: bool = False, loop: bool = False):
        self.path, self.loop = path, loop
        self.source = open_file_source(path)
        self.description = self.source.description
        self.mode = CaptureMode(self.source.width, self.source.height, self.source.fps, "file")
        self.paced = paced
        self._frames = iter(self.source)
        self._started: float | None = None
        self._index = 0
        self.waited = 0.0  # seconds the last read() spent waiting for its frame to be due (not decoding)

    def read(self) -> np.ndarray | None:
        if self.paced:
            # a camera delivers frame i at i / fps whether or not anyone is ready for it
            if self._started is None:
                self._started = time.monotonic()
            delay = self._started + self._index / self.mode.fps - time.monotonic()
            self.waited = max(delay, 0.0)
            if delay > 0:
                time.sleep(delay)
        frame = next(self._frames, None)
        if frame is None and self.loop:  # start over, for soak tests and demos
            self.source.close()
            self.source = open_file_source(self.path)
            self._frames = iter(self.source)
            frame = next(self._frames, None)
        self._index += 1
        return None if frame is None else frame.image

    def close(self) -> None:
        self.source.close()


def parse_source(spec: str) -> int | str:
    """'0' -> camera 0; a URL or a path stays a string."""
    return int(spec) if spec.isdigit() else spec


def open_reader(spec: str, paced: bool = False, request: CaptureRequest | None = None, loop: bool = False
                ) -> FrameReader:
    target = parse_source(spec)
    if isinstance(target, int) or _URL.match(target):
        return OpenCvReader(target, request)
    return FileReader(target, paced=paced, loop=loop)


def list_cameras(max_index: int = 8) -> list[tuple[int, CaptureMode]]:
    """Cameras that open, with the mode each delivers by default (OpenCV cannot enumerate modes portably)."""
    found = []
    for index in range(max_index):
        if sys.platform.startswith("linux") and not Path(f"/dev/video{index}").exists():
            continue  # probing absent V4L2 devices only prints warnings
        try:
            reader = OpenCvReader(index)
        except SourceError:
            continue
        found.append((index, reader.mode))
        reader.close()
    return found
