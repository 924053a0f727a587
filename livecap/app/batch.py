"""`livecap batch INPUT... --out-dir DIR`: many inputs through the same pipeline and outputs as `livecap process`,
on worker processes here (`--workers N`) or Ray actors (`--ray local|auto|ADDRESS`).

Each input is handed to an idle worker; one that fails (an unreadable file, a worker that dies, a lost node) is
tried again once, then recorded as failed while the others go on. Inputs whose outputs are complete are skipped
(`--force` redoes them). DIR/batch.json holds one line per input, rewritten as each one ends."""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from collections import deque
from pathlib import Path
from typing import Protocol

from tqdm import tqdm

from livecap.app.batch_plan import (RECORD_NAME, BatchJob, BatchRecord, expand_inputs, is_complete, plan_jobs,
                                    read_records, skipped_record, write_records)
from livecap.app.batch_workers import BvhTemplate, JobOutcome, WorkerSpec
from livecap.app.flags import (add_bvh_arguments, add_fit_options, add_refine_options, add_runtime_options,
                               pipeline_settings)
from livecap.errors import LivecapError
from livecap.settings import PRESETS
from livecap.sinks.checks import check_folder

RETRIES = 1  # a failed input is tried this many more times


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"give a whole number of at least 1, not {text!r}")
    return int(text)


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"give a number of at least 0 (fractions allowed), not {text!r}")
    return value


def add_batch_parser(commands, preset_help: str) -> argparse.ArgumentParser:
    p = commands.add_parser("batch", help="many videos at once, with the outputs of `process`: on worker processes "
                                          "here or on a Ray cluster (docs/batch.md)")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="a video, an image folder, a folder of videos "
                                                               "(searched recursively) or a .txt file listing paths "
                                                               "or URLs, one a line")
    p.add_argument("--out-dir", required=True, metavar="DIR", help="where each input's results go, at a path "
                                                                   "mirroring the input (DIR/<input>.jsonl), with "
                                                                   "DIR/batch.json")
    p.add_argument("--force", action="store_true", help="process inputs again whose outputs are complete")
    p.add_argument("--preset", default="balanced", choices=list(PRESETS), help=preset_help)
    p.add_argument("--stills", action="store_true", help="treat every image of a folder on its own")
    p.add_argument("--max-frames", type=int, metavar="N", help="stop each input after N frames")
    add_fit_options(p)
    add_refine_options(p)
    p.add_argument("--no-progress", dest="progress", action="store_false", default=None, help="no progress bar")
    add_runtime_options(p)
    add_bvh_arguments(p)
    batch_help = {"bvh": "record every tracked person to DIR/<input>_bvh/<take>_person<id>.bvh",
                  "bvh_take": "file name prefix (default: the input's name)"}
    for action in p._actions:
        action.help = batch_help.get(action.dest, action.help)
    g = p.add_argument_group("workers")
    g.add_argument("--workers", type=_positive_int, metavar="N", help="inputs processed at once (default: the "
                                                                      "cores divided by --threads; with --ray: as "
                                                                      "many actors as the cluster holds)")
    g.add_argument("--threads", type=_positive_int, default=1, metavar="N",
                   help="ONNX Runtime threads per worker (default 1)")
    g.add_argument("--ray", metavar="local|auto|ADDRESS", help="run the workers as Ray actors: local (a private "
                                                               "Ray on loopback), auto (this machine's cluster) "
                                                               "or a cluster ADDRESS; needs the ray extra")
    g.add_argument("--ray-cpus", type=_share, metavar="N", help="CPUs each Ray actor reserves (default: --threads)")
    g.add_argument("--ray-gpus", type=_share, default=0.0, metavar="N",
                   help="GPUs each Ray actor reserves, fractions allowed (default 0)")
    return p


def _absolute(path: str | None) -> str | None:
    """Workers may run elsewhere, in another folder: every path they get is absolute."""
    return os.path.abspath(os.path.expanduser(path)) if path else path


def worker_spec(args: argparse.Namespace) -> WorkerSpec:
    settings = pipeline_settings(args)
    settings = dataclasses.replace(settings, calibration=_absolute(settings.calibration),
                                   model_dir=_absolute(settings.model_dir))
    bvh = BvhTemplate(args.bvh_units, args.bvh_order, args.bvh_fps, args.bvh_min_seconds, args.bvh_take) \
        if args.bvh else None
    return WorkerSpec(settings, args.stills, args.max_frames, args.threads, bvh)


class WorkerPool(Protocol):
    """Workers that each process one input at a time (batch_workers.LocalPool, batch_ray.RayPool)."""

    def idle(self) -> int:
        """How many workers wait for an input."""

    def submit(self, job: BatchJob) -> None:
        """Hands the job to an idle worker."""

    def events(self, timeout: float) -> list[tuple]:
        """What happened within `timeout`: ("frames", job index, frames so far) and ("done", job index,
        JobOutcome); a worker lost while it held a job gives that job an error outcome."""

    def close(self, now: bool = False) -> None:
        """Ends the workers (at once with `now`, leaving busy ones' outputs under .part names)."""


def _pool(args: argparse.Namespace, spec: WorkerSpec, pending: int) -> WorkerPool:
    if args.ray:
        from livecap.app.batch_ray import RayOptions, RayPool

        cpus = args.ray_cpus if args.ray_cpus is not None else float(args.threads)
        return RayPool(spec, RayOptions(args.ray, args.workers, cpus, args.ray_gpus), pending)
    from livecap.app.batch_workers import LocalPool

    workers = args.workers or max((os.cpu_count() or 1) // args.threads, 1)
    return LocalPool(spec, min(workers, pending))


class BatchProgress:
    """The bar (inputs done, failed and skipped; frames a second over this run; ETA from tqdm) and the
    counts behind the summary line."""

    def __init__(self, total: int, skipped: int, show: bool):
        self.bar = tqdm(total=total, initial=skipped, unit="input", disable=not show, dynamic_ncols=True)
        self.started = time.perf_counter()
        self.done = self.failed = 0
        self.skipped = skipped
        self.finished_frames = 0
        self.live: dict[int, int] = {}  # frames so far of the inputs being processed

    @property
    def frames(self) -> int:
        return self.finished_frames + sum(self.live.values())

    @property
    def fps(self) -> float:
        elapsed = time.perf_counter() - self.started
        return self.frames / elapsed if elapsed > 0 else 0.0

    def frames_of(self, index: int, frames: int) -> None:
        self.live[index] = frames

    def ended(self, index: int, record: BatchRecord | None) -> None:
        self.live.pop(index, None)
        if record is None:  # tried again
            return
        self.finished_frames += record.frames or 0
        if record.status == "done":
            self.done += 1
        else:
            self.failed += 1
        self.bar.update(1)

    def refresh(self) -> None:
        self.bar.set_postfix_str(f"done {self.done}, failed {self.failed}, skipped {self.skipped}, "
                                 f"{self.fps:.1f} frames/s", refresh=True)

    def line(self, record_path: Path) -> str:
        return (f"batch: {self.done} done, {self.failed} failed, {self.skipped} skipped; {self.frames} frames in "
                f"{time.perf_counter() - self.started:.1f} s ({self.fps:.1f} frames/s) -> {record_path}")


def _record(job: BatchJob, outcome: JobOutcome, attempts: int) -> BatchRecord:
    status = "failed" if outcome.error else "done"
    return BatchRecord(job.source, str(job.results), status, outcome.frames, outcome.people,
                       round(outcome.seconds, 3), outcome.error, attempts, str(job.bvh) if job.bvh else None)


def run_jobs(jobs: list[BatchJob], pool: WorkerPool, progress: BatchProgress, on_record) -> None:
    """Hands the jobs to the pool's idle workers until every one is done or failed twice."""
    waiting, attempts, running = deque(jobs), {job.index: 0 for job in jobs}, set()
    by_index = {job.index: job for job in jobs}
    while waiting or running:
        while waiting and pool.idle():
            job = waiting.popleft()
            attempts[job.index] += 1
            running.add(job.index)
            pool.submit(job)
        for event in pool.events(0.5):
            kind, index, payload = event
            if kind == "frames":
                progress.frames_of(index, payload)
                continue
            running.discard(index)
            job = by_index[index]
            if payload.error and attempts[index] <= RETRIES:
                waiting.append(job)  # at the back: a passing fault (a lost node) has time to clear
                progress.ended(index, None)
                continue
            record = _record(job, payload, attempts[index])
            progress.ended(index, record)
            on_record(index, record)
        progress.refresh()


def run_batch(args: argparse.Namespace) -> int:
    out_dir = Path(args.out_dir).expanduser().absolute()
    bvh_dir = Path(args.bvh).expanduser().absolute() if args.bvh else None
    jobs = plan_jobs(expand_inputs(args.inputs), out_dir, bvh_dir)
    if bvh_dir is not None:  # before any worker starts: not once per input, after its models loaded
        check_folder(bvh_dir, "BVH folder", "--bvh")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LivecapError(f"cannot create the output folder {out_dir} ({exc.strerror}): choose a writable "
                           f"--out-dir") from None
    record_path = out_dir / RECORD_NAME
    earlier = read_records(record_path)
    records: dict[int, BatchRecord] = {}
    todo = []
    for job in jobs:
        if not args.force and is_complete(job):
            records[job.index] = skipped_record(job, earlier.get(job.source))
        else:
            todo.append(job)

    def on_record(index: int, record: BatchRecord) -> None:
        records[index] = record
        write_records(record_path, [records[i] for i in sorted(records)])

    write_records(record_path, [records[i] for i in sorted(records)])
    show = (os.isatty(2) if args.progress is None else args.progress)
    progress = BatchProgress(len(jobs), len(jobs) - len(todo), show)
    try:
        if todo:
            pool = _pool(args, worker_spec(args), len(todo))
            try:
                run_jobs(todo, pool, progress, on_record)
            except BaseException:  # Ctrl-C, a fatal error: the inputs being processed stay under .part names
                pool.close(now=True)
                raise
            pool.close()
    finally:
        progress.bar.close()
    print(progress.line(record_path))
    for record in records.values():
        if record.status == "failed":
            print(f"failed: {record.input}: {record.error}")
    return 1 if progress.failed else 0
