"""`livecap batch`'s workers on this machine: each a process that loads the models once, then runs the inputs it
is handed one at a time (the same `process()` as `livecap process`), writing under temporary names and renaming
when complete. The pool hands inputs to idle workers, passes their progress on and replaces a worker that dies
(the input it held gets an error outcome, retried like any failed input). Ray actors run the same JobRunner (batch_ray)."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

from livecap.app.batch_plan import BatchJob, part_path
from livecap.app.messages import OPENCV_ERROR, set_opencv_log_level
from livecap.errors import LivecapError, OutputError
from livecap.settings import PipelineSettings

log = logging.getLogger("livecap")


@dataclass(frozen=True)
class BvhTemplate:
    """The BVH flags, the same for every input (the folder is the input's own)."""

    units: str = "cm"
    order: str = "ZXY"
    fps: float = 30.0
    min_seconds: float = 1.0
    take: str | None = None  # default: the input's name


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs, sent to it once (pickled: to a process here or a Ray actor anywhere)."""

    settings: PipelineSettings
    stills: bool = False
    max_frames: int | None = None
    threads: int = 1  # ONNX Runtime threads per model (0: its default)
    bvh: BvhTemplate | None = None


@dataclass
class JobOutcome:
    frames: int = 0
    people: int = 0
    seconds: float = 0.0
    error: str | None = None  # one line; None when the input is done


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if isinstance(exc, LivecapError) else f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


class JobRunner:
    """One worker's pipeline: the models loaded once (LivecapError when they cannot be), then any number of
    inputs through `process()`."""

    def __init__(self, spec: WorkerSpec):
        from livecap.pose.pipeline import PipelineModels

        self.spec = spec
        self.models = PipelineModels.load(spec.settings, spec.threads)

    def run(self, job: BatchJob, on_frames=None) -> JobOutcome:
        """Never raises: a failure is the outcome's error, and leaves only `.part` names behind."""
        from livecap.app.process import process

        started = time.perf_counter()
        results, recordings = part_path(job.results), part_path(job.bvh) if job.bvh else None
        try:
            for leftover in filter(None, (results, recordings)):  # from a batch killed while writing them
                _remove(leftover)
            job.results.parent.mkdir(parents=True, exist_ok=True)
            sinks = self._bvh_sinks(job, recordings)
            summary = process(job.source, str(results), self.spec.settings, self.spec.stills, self.spec.max_frames,
                              progress=False, sinks=sinks, models=self.models, on_frames=on_frames)
            failed = summary.status.failed_outputs if summary.status else []
            if failed:
                raise OutputError(f"{failed[0].name} output failed: {failed[0].error}")
            if recordings is not None:  # the recordings first: the results file's final name marks completion
                _remove(job.bvh)
                os.replace(recordings, job.bvh)
            os.replace(results, job.results)
            return JobOutcome(summary.frames, summary.people, time.perf_counter() - started)
        except Exception as exc:  # noqa: BLE001 - any failure of one input is that input's, never the worker's
            for leftover in filter(None, (results, recordings)):
                try:
                    _remove(leftover)
                except OSError:
                    pass
            return JobOutcome(seconds=time.perf_counter() - started, error=_one_line(exc))

    def _bvh_sinks(self, job: BatchJob, folder: Path | None) -> list:
        if folder is None or self.spec.bvh is None:
            return []
        from livecap.sinks.bvh.recorder import BvhOptions, BvhSink

        b = self.spec.bvh
        return [BvhSink(BvhOptions(folder, b.units, b.order, b.fps, b.min_seconds, take=b.take or job.name))]


# ---- the process pool
def _exit_with_parent() -> None:
    """A worker whose batch was killed ends too (its `.part` files stay, never mistaken for complete ones)."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch():
        wait([parent.sentinel])
        os._exit(1)
    threading.Thread(target=watch, name="livecap-parent-watch", daemon=True).start()


def _worker_main(spec: WorkerSpec, conn: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the batch's to handle: it stops the workers
    _exit_with_parent()
    logging.basicConfig(format="livecap worker: %(message)s", level=logging.WARNING)
    from tqdm import tqdm

    # process()'s (hidden) bar would make tqdm create a process-shared lock: a thread lock does here, and a
    # worker killed mid-input (Ctrl-C) leaves no semaphore behind to be warned about
    tqdm.set_lock(threading.RLock())
    # errors only: an unreadable input's failure is its batch.json line, not FFmpeg's warnings
    set_opencv_log_level(OPENCV_ERROR)
    try:
        runner = JobRunner(spec)
    except LivecapError as exc:
        conn.send(("fatal", str(exc)))
        return
    while True:
        job = conn.recv()
        if job is None:
            return
        outcome = runner.run(job, on_frames=lambda frames: conn.send(("frames", job.index, frames)))
        conn.send(("done", job.index, outcome))


@dataclass
class _Worker:
    process: multiprocessing.Process
    conn: Connection
    job: BatchJob | None = None


class LocalPool:
    """`workers` processes on this machine. Usage: submit() while idle() > 0; events() until every input
    submitted is done; close()."""

    def __init__(self, spec: WorkerSpec, workers: int):
        self.spec = spec
        self.context = multiprocessing.get_context("spawn")  # fork would copy ONNX Runtime's and numba's threads
        self.workers = [self._start() for _ in range(workers)]

    def _start(self) -> _Worker:
        parent, child = self.context.Pipe()
        process = self.context.Process(target=_worker_main, args=(self.spec, child), name="livecap-batch-worker",
                                       daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def idle(self) -> int:
        return sum(w.job is None for w in self.workers)

    def submit(self, job: BatchJob) -> None:
        worker = next(w for w in self.workers if w.job is None)
        worker.job = job
        worker.conn.send(job)

    def events(self, timeout: float) -> list[tuple]:
        """("frames", index, frames so far) and ("done", index, JobOutcome), as they come within `timeout`."""
        by_handle = {w.conn: w for w in self.workers} | {w.process.sentinel: w for w in self.workers}
        found = []
        for handle in wait(list(by_handle), timeout):
            worker = by_handle[handle]
            if handle is worker.conn:
                found += self._receive(worker)
            elif worker in self.workers and not worker.process.is_alive():
                found += self._receive(worker)  # what it sent before it died
                found += self._replace(worker)
        return found

    def _receive(self, worker: _Worker) -> list[tuple]:
        found = []
        try:
            while worker.conn.poll():
                message = worker.conn.recv()
                if message[0] == "fatal":
                    raise LivecapError(message[1])
                if message[0] == "done":
                    worker.job = None
                found.append(message)
        except (EOFError, OSError):
            pass  # the worker died: its sentinel reports that
        return found

    def _replace(self, dead: _Worker) -> list[tuple]:
        code = dead.process.exitcode
        dead.conn.close()
        self.workers[self.workers.index(dead)] = self._start()
        if dead.job is None:
            return []
        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        log.warning("a worker died (%s) while processing %s", how, dead.job.source)
        return [("done", dead.job.index, JobOutcome(error=f"the worker died ({how}) while processing this input"))]

    def close(self, now: bool = False) -> None:
        """Idle workers end on being told; with `now` (Ctrl-C, a fatal error), busy ones are killed, their
        outputs left under .part names."""
        for worker in self.workers:
            try:
                worker.conn.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + (1.0 if now else 10.0)
        for worker in self.workers:
            worker.process.join(max(deadline - time.monotonic(), 0.1))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(5.0)
            worker.conn.close()
