"""Frame sources, one type for every input: a webcam (by index), a network stream (RTSP / HTTP URL), a video
file, one image or a folder of images; a file can be played as a camera would deliver it (paced at its frame rate)
and looped. A source opens, gives one Frame at a time (None at the end of a file; image names kept) and closes.
The engine's capture thread owns it: it reopens a live source that fails and keeps only the newest frame.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from livecap import mp4
from livecap.errors import SourceError
from livecap.types import Frame

log = logging.getLogger("livecap")

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


@dataclass(frozen=True)
class CaptureRequest:
    """What to ask a camera for; it may deliver something else (the source reports what)."""

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


class FrameSource:
    """Frames with the stream's nominal properties. read() raises SourceError when a device fails."""

    description: str
    mode: CaptureMode
    live: bool = False  # a camera or stream: reopen when it fails; a file: its end is the end
    stills: bool = False  # frames are unrelated images: nothing may be carried from one to the next
    frame_count: int | None = None  # None when unknown
    waited: float = 0.0  # seconds the last read() spent waiting for its frame to be due (pacing, not decoding)

    def read(self) -> Frame | None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame


def make_frame(index: int, time_s: float, image: np.ndarray, name: str | None = None) -> Frame:
    """A frame with its RGB copy, converted once, where it is read (the engine's capture thread)."""
    return Frame(index, time_s, image, time.monotonic(), name=name, rgb=cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


def _fourcc(capture: cv2.VideoCapture) -> str:
    code = int(capture.get(cv2.CAP_PROP_FOURCC))
    text = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4))
    return text if text.isprintable() and text.strip() else ""


class CameraSource(FrameSource):
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
        self._index, self._started = 0, time.monotonic()

    def _ask(self, request: CaptureRequest) -> None:
        # order matters to many drivers: codec first, then size, then rate
        if request.mjpg:
            self.capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        if request.width and request.height:
            self.capture.set(cv2.CAP_PROP_FRAME_WIDTH, request.width)
            self.capture.set(cv2.CAP_PROP_FRAME_HEIGHT, request.height)
        if request.fps:
            self.capture.set(cv2.CAP_PROP_FPS, request.fps)

    def read(self) -> Frame | None:
        ok, image = self.capture.read()
        if not ok:
            raise SourceError(f"{self.description} stopped delivering frames")
        self._index += 1
        return make_frame(self._index - 1, time.monotonic() - self._started, image)

    def close(self) -> None:
        self.capture.release()


class VideoFileSource(FrameSource):
    def __init__(self, path: Path):
        self.path = path
        self.capture = cv2.VideoCapture(str(path))
        ok, first = self.capture.read() if self.capture.isOpened() else (False, None)
        if not ok:
            self.capture.release()
            raise _unreadable(path)
        height, width = first.shape[:2]
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        self.mode = CaptureMode(width, height, float(fps) if fps and 0 < fps < 1000 else 30.0, "file")
        self._index, self._first_stamp, self._last_time = 0, self._stamp(), -1.0
        self._next = (first, self._media_time())
        count = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = count if count > 0 else None
        self.description = str(path)
        self._told = False

    def read(self) -> Frame | None:
        if self._next is not None:
            (image, time_s), self._next = self._next, None
        else:
            ok, image = self.capture.read()
            if not ok:
                self._check_complete()
                return None
            time_s = self._media_time()
        self._index += 1
        return make_frame(self._index - 1, time_s, image)

    def _stamp(self) -> float:
        return float(self.capture.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0

    def _media_time(self) -> float:
        """The frame just read, in seconds from the first: its own timestamp where the container gives one that
        moves on, else one nominal frame after the last. Not frames / nominal rate: a phone's video has a variable
        rate, and OpenCV versions disagree on a file's nominal one (the sample's: 30 in 4.8, 28.05 in 4.14; its
        timestamps, 33.3 ms apart with one 200 ms gap, are the same in both)."""
        time_s = self._stamp() - self._first_stamp
        if not time_s > self._last_time:
            time_s = self._last_time + 1.0 / self.mode.fps if self._last_time >= 0 else 0.0
        self._last_time = time_s
        return time_s

    def _check_complete(self) -> None:
        """A file cut short (a copy or a recording that stopped mid-way) reads to the cut: say so. Containers count
        their frames only roughly, so a frame or two less is no cut."""
        promised = self.frame_count
        if promised and self._index < promised - 2 and not self._told:
            self._told = True
            log.warning("%s ended after %d of the %d frames it promises: the file is cut short or damaged; the frames "
                        "read are processed", self.path, self._index, promised)

    def close(self) -> None:
        self.capture.release()


def _unreadable(path: Path) -> SourceError:
    """Why a file OpenCV cannot read is unreadable, with what to do: an MP4 without its index is named as such."""
    found = mp4.layout(path)
    if found is None or found.indexed:
        return SourceError(f"cannot read {path} as a video or image: use a video file (mp4, avi, mkv, ...), an "
                           f"image or a folder of images")
    cut = f", ending at byte {found.size} of the {found.announced} it announces" if found.cut_short else ""
    return SourceError(f"cannot read {path}: it is an incomplete MP4 without its index (moov box){cut}, as a copy "
                       f"or download stopped early or an interrupted recording leaves it; copy or export it again "
                       f"from the complete original (remuxing cannot rebuild a missing index; for an interrupted "
                       f"recording, untrunc can, given a good file from the same camera)")


def _read_image(path: Path) -> np.ndarray | None:
    # imdecode instead of imread: imread cannot open non-ASCII paths on Windows
    try:
        data = np.fromfile(str(path), np.uint8)
    except OSError:
        return None
    return cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None


class ImageFilesSource(FrameSource):
    """One image, or the images of a folder in sorted name order (a sequence, or unrelated stills).

    A sequence is one camera's frames, all of the first image's size: an image of another size is no frame of it
    (its people would be tracked and fitted through the wrong camera), so it is skipped with a notice naming it
    and --stills, which gives every image a camera of its own size."""

    def __init__(self, paths: list[Path], stills: bool, description: str, fps: float = 30.0):
        self.paths = paths
        first = next((image for image in map(_read_image, paths) if image is not None), None)
        if first is None:
            raise SourceError(f"no readable image in {description}: use JPEG, PNG, BMP, TIFF or WebP files")
        self.mode = CaptureMode(first.shape[1], first.shape[0], fps, "images")
        self.frame_count, self.stills, self.description = len(paths), stills, description
        self._paths, self._index = iter(paths), 0
        self._other_sizes, self._counted = 0, False

    def read(self) -> Frame | None:
        for path in self._paths:
            image = _read_image(path)
            if image is None:
                log.warning("skipping %s: not a readable image", path)
                continue
            if not self.stills and (image.shape[1], image.shape[0]) != (self.mode.width, self.mode.height):
                self._skip_other_size(path, image)
                continue
            self._index += 1
            return make_frame(self._index - 1, (self._index - 1) / self.mode.fps, image, name=path.name)
        self._count_other_sizes()
        return None

    def _skip_other_size(self, path: Path, image: np.ndarray) -> None:
        self._other_sizes += 1
        if self._other_sizes == 1:  # the first is named; a folder full of them is counted at its end
            log.warning("skipping %s: it is %dx%d, the sequence is %dx%d (its first image's size); give --stills "
                        "to process unrelated images each on its own", path, image.shape[1], image.shape[0],
                        self.mode.width, self.mode.height)

    def _count_other_sizes(self) -> None:
        if self._other_sizes > 1 and not self._counted:
            self._counted = True
            log.warning("skipped %d images of another size than the sequence's %dx%d in %s; give --stills to "
                        "process them", self._other_sizes, self.mode.width, self.mode.height, self.description)


def open_file(path: str | Path, stills: bool = False) -> FrameSource:
    """A video file, an image, or a folder of images (a sequence unless stills=True)."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"input {path} does not exist: check the path")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file())
        images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
        if not images:
            raise SourceError(f"folder {path} holds no images: put JPEG or PNG frames in it, or give a video file")
        for skipped in files:
            if skipped.suffix.lower() not in IMAGE_SUFFIXES:
                log.info("skipping %s: not an image", skipped.name)
        return ImageFilesSource(images, stills, str(path))
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageFilesSource([path], True, str(path))
    return VideoFileSource(path)


class Playback(FrameSource):
    """A file played as a camera would deliver it (frame i due at i / fps, whether or not anyone is ready for
    it), and/or looped from the start when it ends (demos, soak tests). Frames keep counting across loops."""

    def __init__(self, open_once: Callable[[], FrameSource], paced: bool, loop: bool,
                 stop: threading.Event | None = None):
        self._open, self.paced, self.loop = open_once, paced, loop
        self._stop = stop or threading.Event()  # set: the wait for a frame's time ends at once (a slow-fps file)
        self.source = open_once()
        self.description, self.mode, self.stills = self.source.description, self.source.mode, self.source.stills
        self.frame_count = None if loop else self.source.frame_count
        self._started: float | None = None
        self._index = 0
        self._loop_start = 0.0  # media time at which the current pass through the file began
        self._last_time = -1.0 / self.mode.fps

    def read(self) -> Frame | None:
        frame = self.source.read()
        if frame is None and self.loop:
            self.source.close()
            self.source = self._open()
            self._loop_start = self._last_time + 1.0 / self.mode.fps
            frame = self.source.read()
        if frame is None:
            return None
        frame.index, frame.time = self._index, self._loop_start + frame.time
        self._index, self._last_time = self._index + 1, frame.time
        if self.paced:  # each frame handed over at its own media time, as a camera would deliver it
            if self._started is None:
                self._started = time.monotonic()
            delay = self._started + frame.time - time.monotonic()
            self.waited = max(delay, 0.0)
            if delay > 0:
                self._stop.wait(delay)
            frame.captured_at = time.monotonic()
        return frame

    def close(self) -> None:
        self.source.close()


def parse_source(spec: str) -> int | str:
    """'0' -> camera 0; a URL or a path stays a string."""
    return int(spec) if spec.isdigit() else spec


def open_source(spec: str, paced: bool = False, loop: bool = False, request: CaptureRequest | None = None,
                stills: bool = False, stop: threading.Event | None = None) -> FrameSource:
    """`stop`, once set, ends a paced file's wait for its next frame's time."""
    target = parse_source(str(spec))
    if isinstance(target, int) or _URL.match(target):
        return CameraSource(target, request)
    if paced or loop:
        return Playback(lambda: open_file(target, stills), paced, loop, stop)
    return open_file(target, stills)


def list_cameras(max_index: int = 8) -> list[tuple[int, CaptureMode]]:
    """Cameras that open, with the mode each delivers by default (OpenCV cannot enumerate modes portably)."""
    found = []
    for index in range(max_index):
        if sys.platform.startswith("linux") and not Path(f"/dev/video{index}").exists():
            continue  # probing absent V4L2 devices only prints warnings
        try:
            source = CameraSource(index)
        except SourceError:
            continue
        found.append((index, source.mode))
        source.close()
    return found
