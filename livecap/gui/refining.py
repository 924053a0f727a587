"""The desktop app's recordings refined when they stop (livecap.refine), as `livecap process` refines a file.

While the live BVH recorder writes the crash-safe take, a TakeRecorder keeps what perception saw. When the take
stops, it is refined on a worker thread and its BVH files take the place of the live ones, only once every refined
file is written and reads back whole; a failure or a cancel leaves the live take as it was.

The refined files keep the live files' names (`<take>_person<id>.bvh`; their sidecars say "refined"): the refined
take is the take, named as the animator saw it named while recording. They are written into a hidden folder beside
the live files (`.<take>.refining`, which a recorder's crash repair never looks into) and moved over them with
os.replace (atomic per file); the live files of people the refined take does not have (a track stitched into
another person) are removed after. No Qt: the window polls `TakeRefiner.current()` and `finished()`."""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from livecap.errors import LivecapError, OutputError
from livecap.refine import RefinedTake, Take, TakeRecorder, refine
from livecap.sinks.bvh.reader import read as read_bvh
from livecap.sinks.bvh.recorder import BvhOptions, BvhSink
from livecap.sinks.bvh.stream import sidecar_path

log = logging.getLogger("livecap")

Progress = Callable[[str, int, int], None]  # (stage: "refining" | "writing", done, of how many)


class Cancelled(Exception):
    """The refine was cancelled (the window closed): the live take stays."""


class LiveTakeRecorder(TakeRecorder):
    """The take the app refines when a recording stops: not required (a failure stops it alone: the live BVH
    recorder is the crash-safe take), and a take it failed to keep whole is not refined."""

    required = False

    def __init__(self):
        super().__init__()
        self.error: str | None = None

    def write(self, result) -> None:
        try:
            super().write(result)
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            raise


@dataclass
class RefineJob:
    """One stopped take: waiting -> refining -> writing -> done | failed | cancelled."""

    take: Take
    live: BvhSink  # the crash-safe live take: its folder, options, name and files
    stage: str = "waiting"
    done: int = 0
    total: int = 0
    files: list[Path] = field(default_factory=list)  # the refined files, once in place
    error: str = ""
    seconds: float = 0.0  # the take's length, first frame to last

    @property
    def name(self) -> str:
        return str(self.live.take)

    @property
    def folder(self) -> Path:
        return self.live.options.directory

    def progress(self) -> tuple[int, str]:
        """(percent, text) for a progress bar."""
        percent = round(100 * self.done / self.total) if self.total else 0
        return percent, f"{self.stage} take {self.name}… {percent}%"

    def message(self) -> str:
        """One line on how it ended."""
        if self.stage == "done":
            names = ", ".join(path.name for path in self.files)
            return f"take {self.name} refined: {len(self.files)} BVH file(s) in {self.folder}: {names}"
        kept = ", ".join(path.name for path in self.live.files)
        if self.stage == "cancelled":
            return f"take {self.name} not refined (the app was closed): its live files are kept: {kept}"
        return f"take {self.name} not refined: {self.error}; its live files are kept in {self.folder}: {kept}"


def refine_recording(take: Take, live: BvhSink, on_progress: Progress, cancelled: Callable[[], bool]
                     ) -> list[Path]:
    """The take refined and written as BVH files in place of the live recorder's (which must be closed);
    returns their paths. Raises LivecapError (the live files untouched) when it cannot, Cancelled when
    `cancelled()` turns true."""
    folder, name = live.options.directory, str(live.take)
    staging = folder / f".{name}.refining"
    shutil.rmtree(staging, ignore_errors=True)  # left by a refine cut short by a crash: the live take is whole

    def step(stage: str, done: int, total: int) -> None:
        if cancelled():
            raise Cancelled()
        on_progress(stage, done, total)

    try:
        refined = refine(take, lambda done, total: step("refining", done, total))
        written = _write(refined, replace(live.options, directory=staging, take=name), step)
        if live.files and not written:
            raise OutputError(f"nobody in the refined take was tracked for {live.options.min_seconds:g} s or "
                              f"more; record a longer take")
        return _put_in_place(written, live.files, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write(refined: RefinedTake, options: BvhOptions, step: Progress) -> list[Path]:
    """The refined take's BVH files, complete and checked, in the options' (staging) folder."""
    sink = BvhSink(options)
    sink.start(refined.info)
    try:
        total = len(refined.take.frames)
        for done, result in enumerate(refined.results(), 1):
            sink.write(result)
            step("writing", done, total)
    except OutputError:
        pass  # sink.error below
    finally:
        sink.close()
    if sink.error is not None:
        # what failed, without the recorder's "the frames before are kept": here they are not (staging is removed)
        raise OutputError(f"{sink.error.split(';')[0]}: free some disk space or make "
                          f"{options.directory.parent} writable")
    for path in sink.files:
        _check_whole(path)
    return list(sink.files)


def _check_whole(path: Path) -> None:
    """A refined file replaces a live one only when it reads back whole (its sidecar complete, its frames all
    there): a close that could not complete it (a full disk) must not cost the live take."""
    try:
        frames = read_bvh(path).frames
        sidecar = json.loads(sidecar_path(path).read_text())
    except (LivecapError, OSError, ValueError) as exc:
        raise OutputError(f"the refined {path.name} did not read back whole ({exc}); free some disk space") from None
    if sidecar.get("state") != "complete" or sidecar.get("frames") != frames:
        raise OutputError(f"the refined {path.name} was not completed ({sidecar.get('state')}, {frames} of "
                          f"{sidecar.get('frames')} frames); free some disk space")


def _put_in_place(written: list[Path], live: list[Path], folder: Path) -> list[Path]:
    """The refined files moved over the live ones (each replace atomic), then the live files left removed."""
    placed = []
    try:
        for path in written:
            target = folder / path.name
            os.replace(path, target)
            os.replace(sidecar_path(path), sidecar_path(target))
            placed.append(target)
        for path in live:
            if path not in placed:
                path.unlink(missing_ok=True)
                sidecar_path(path).unlink(missing_ok=True)
    except OSError as exc:  # the folder changed under us (removed, made read-only): say which files are which
        raise OutputError(f"moving the refined take into {folder} failed ({exc.strerror}) after {len(placed)} of "
                          f"{len(written)} files (their sidecars say \"refined\"); check the folder") from None
    return placed


class TakeRefiner:
    """Refines stopped takes one after another on a worker thread (a second take stopped while the first is
    refined waits its turn). The window polls current() for its progress bar and finished() for its messages."""

    def __init__(self):
        self._jobs: deque[RefineJob] = deque()  # the one being refined first, then those waiting
        self._finished: list[RefineJob] = []
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    def submit(self, take: Take, live: BvhSink) -> RefineJob:
        job = RefineJob(take, live, seconds=_seconds(take))
        with self._lock:
            self._jobs.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="livecap-gui-refine", daemon=True)
                self._thread.start()
        return job

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._jobs)

    def current(self) -> tuple[RefineJob | None, int]:
        """The job being refined (None when idle) and how many more wait."""
        with self._lock:
            return (self._jobs[0] if self._jobs else None), max(len(self._jobs) - 1, 0)

    def finished(self) -> list[RefineJob]:
        """The jobs that ended since the last call, in order."""
        with self._lock:
            done, self._finished = self._finished, []
            return done

    def cancel(self, timeout: float = 30.0) -> None:
        """Stops refining (at the next progress step) and drops the takes waiting; every live take stays."""
        self._cancel.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._jobs:
                    self._thread = None
                    return
                job = self._jobs[0]
            self._refine(job)
            with self._lock:
                self._jobs.popleft()
                self._finished.append(job)

    def _refine(self, job: RefineJob) -> None:
        def progress(stage: str, done: int, total: int) -> None:
            job.stage, job.done, job.total = stage, done, total

        try:
            if self._cancel.is_set():
                raise Cancelled()
            job.stage = "refining"
            job.files = refine_recording(job.take, job.live, progress, self._cancel.is_set)
            job.stage = "done"
        except Cancelled:
            job.stage = "cancelled"
        except LivecapError as exc:
            job.stage, job.error = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - shown in the window: an unexpected failure must not vanish
            log.debug("refining take %s", job.name, exc_info=True)
            job.stage, job.error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            job.take.close()


def _seconds(take: Take) -> float:
    times = take.frames.time
    return times[-1] - times[0] if times else 0.0
