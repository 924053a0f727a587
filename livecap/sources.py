"""Frame sources: a video file, one image, or a folder of images (live cameras and streams: livecap.engine)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from livecap.errors import SourceError
from livecap.types import Frame

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


class FrameSource:
    """Iterable of Frames with the stream's nominal properties."""

    width: int
    height: int
    fps: float
    frame_count: int | None  # None when unknown
    stills: bool  # frames are unrelated images: nothing may be carried from one to the next
    description: str

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class VideoFileSource(FrameSource):
    def __init__(self, path: Path):
        self.path = path
        self.capture = cv2.VideoCapture(str(path))
        ok, first = self.capture.read() if self.capture.isOpened() else (False, None)
        if not ok:
            self.capture.release()
            raise SourceError(f"cannot read {path} as a video or image: use a video file (mp4, avi, mkv, ...), "
                              f"an image or a folder of images")
        self._first = first
        self.height, self.width = first.shape[:2]
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and 0 < fps < 1000 else 30.0
        count = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = count if count > 0 else None
        self.stills = False
        self.description = str(path)

    def __iter__(self) -> Iterator[Frame]:
        image, index = self._first, 0
        while image is not None:
            yield Frame(index, index / self.fps, image, time.monotonic())
            ok, image = self.capture.read()
            image = image if ok else None
            index += 1

    def close(self) -> None:
        self.capture.release()


def _read_image(path: Path) -> np.ndarray | None:
    # imdecode instead of imread: imread cannot open non-ASCII paths on Windows
    try:
        data = np.fromfile(str(path), np.uint8)
    except OSError:
        return None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    return image


class ImageFilesSource(FrameSource):
    """One image, or the images of a folder in sorted name order (a sequence, or unrelated stills)."""

    def __init__(self, paths: list[Path], stills: bool, description: str, fps: float = 30.0):
        self.paths = paths
        first = None
        for path in paths:
            first = _read_image(path)
            if first is not None:
                break
        if first is None:
            raise SourceError(f"no readable image in {description}: use JPEG, PNG, BMP, TIFF or WebP files")
        self.height, self.width = first.shape[:2]
        self.fps = fps
        self.frame_count = len(paths)
        self.stills = stills
        self.description = description

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        for path in self.paths:
            image = _read_image(path)
            if image is None:
                log.warning("skipping %s: not a readable image", path)
                continue
            yield Frame(index, index / self.fps, image, time.monotonic(), name=path.name)
            index += 1


def open_file_source(path: str | Path, stills: bool = False) -> FrameSource:
    """A video file, an image, or a folder of images (a sequence unless stills=True)."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"input {path} does not exist: check the path")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file())
        images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
        for skipped in files:
            if skipped.suffix.lower() not in IMAGE_SUFFIXES:
                log.info("skipping %s: not an image", skipped.name)
        if not images:
            raise SourceError(f"folder {path} holds no images: put JPEG or PNG frames in it, or give a video file")
        return ImageFilesSource(images, stills, str(path))
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageFilesSource([path], True, str(path))
    return VideoFileSource(path)
