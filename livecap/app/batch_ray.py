"""`livecap batch --ray`: the same workers (batch_workers.JobRunner) as Ray actors, one model load per actor,
on a private Ray instance on this machine's loopback interface (`local`), the cluster this machine belongs to
(`auto`) or the cluster at an address. Inputs and outputs travel by path: every node must see them at the same
path (shared storage), and every node needs livecap installed in the same Python environment."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from livecap.app.batch_plan import BatchJob
from livecap.app.batch_workers import JobOutcome, JobRunner, WorkerSpec
from livecap.errors import LivecapError

log = logging.getLogger("livecap")

RAY_HINT = 'install the Ray extra: pip install "livecap[ray]" (from a checkout: pip install -e ".[ray]")'
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class RayJobWorker:
    """The actor (wrapped by ray.remote at run time; Ray is optional). Threaded (two calls at once) so that the
    batch can ask how far the current input has got while run() is busy."""

    def __init__(self, spec: WorkerSpec):
        self.frames = 0
        try:
            self.runner, self.error = JobRunner(spec), None
        except LivecapError as exc:  # told through ready(): an exception here would only say the actor died
            self.runner, self.error = None, str(exc)

    def ready(self) -> str | None:
        return self.error

    def run(self, job: BatchJob) -> JobOutcome:
        self.frames = 0
        return self.runner.run(job, on_frames=self._count)

    def _count(self, frames: int) -> None:
        self.frames = frames

    def progress(self) -> int:
        return self.frames


@dataclass(frozen=True)
class RayOptions:
    address: str  # local, auto or a cluster address (host:port or ray://host:port)
    workers: int | None = None  # actors; default: as many as the cluster's CPUs (and GPUs) hold
    cpus: float = 1.0  # per actor
    gpus: float = 0.0  # per actor


def _import_ray(loopback_only: bool):
    if loopback_only:
        # Ray binds its servers to the node's address; on Linux that is the outward one unless Ray believes it
        # runs on a laptop (the same switch Ray uses on macOS and Windows): then everything is on loopback.
        # Read when Ray is imported, and by the servers it starts (which inherit the environment).
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no reports leave the machine
    try:
        import ray
    except ImportError:
        raise LivecapError(f"--ray needs Ray, which is not installed: {RAY_HINT}") from None
    return ray


def start_ray(options: RayOptions):
    """Ray, started (local) or joined; LivecapError when it cannot be."""
    local = options.address == "local"
    ray = _import_ray(local)
    if ray.is_initialized():
        raise LivecapError("Ray is already running in this process: run livecap batch in a process of its own")
    kwargs = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    if local:
        cpus = max(os.cpu_count() or 1, int(options.cpus * (options.workers or 1) + 0.999))
        kwargs |= dict(address="local", num_cpus=cpus, _node_ip_address="127.0.0.1")
    else:
        kwargs["address"] = options.address
    try:
        ray.init(**kwargs)
    except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, ValueError...
        reason = " ".join(str(exc).split())[:300]
        fix = ("use --workers instead, or check Ray with `ray start --head` by hand" if local else
               "check that `ray start` ran on the head node and that the address is right")
        raise LivecapError(f"cannot {'start' if local else 'join'} Ray ({reason}): {fix}") from None
    if local:
        host = urlsplit("//" + ray.get_runtime_context().gcs_address).hostname
        if host not in LOOPBACK:
            ray.shutdown()
            raise LivecapError(f"the private Ray instance listened on {host}, not loopback: stopped it; this Ray "
                               f"version ignores the loopback switch, use --workers instead")
    return ray


def actor_count(ray, options: RayOptions, most: int | None = None) -> int:
    """--workers, or as many actors as the cluster's CPUs (and GPUs) hold; never more than `most` (the inputs)."""
    most = most or 1 << 30
    if options.workers:
        return min(options.workers, most)
    resources = ray.cluster_resources()
    counts = [int(resources.get("CPU", 1) // options.cpus)] if options.cpus else []
    if options.gpus:
        counts.append(int(resources.get("GPU", 0) // options.gpus))
    return max(min([*counts, most]), 1)


class RayPool:
    """The LocalPool's interface over Ray actors; an actor that dies (a crash, a lost node) is replaced and the
    input it held given an error outcome (retried like any failed input)."""

    def __init__(self, spec: WorkerSpec, options: RayOptions, most: int | None = None):
        self.ray = start_ray(options)
        from ray.exceptions import RayError

        self.RayError = RayError
        self.spec, self.options = spec, options
        self.remote = self.ray.remote(RayJobWorker)
        self.busy: dict = {}  # run() reference -> (actor, job)
        try:
            self.actors = [self._start() for _ in range(actor_count(self.ray, options, most))]
            self._check_ready(self.actors)
        except BaseException:
            self.actors = []
            self.ray.shutdown()
            raise

    def _start(self):
        return self.remote.options(num_cpus=self.options.cpus, num_gpus=self.options.gpus,
                                    max_concurrency=2).remote(self.spec)

    def _check_ready(self, actors) -> None:
        for error in self.ray.get([actor.ready.remote() for actor in actors]):
            if error:
                raise LivecapError(error)

    def idle(self) -> int:
        return len(self.actors) - len(self.busy)

    def submit(self, job: BatchJob) -> None:
        taken = {actor for actor, _ in self.busy.values()}
        actor = next(a for a in self.actors if a not in taken)
        self.busy[actor.run.remote(job)] = (actor, job)

    def events(self, timeout: float) -> list[tuple]:
        if not self.busy:
            return []
        done, _ = self.ray.wait(list(self.busy), num_returns=len(self.busy), timeout=timeout)
        found = []
        for ref in done:
            actor, job = self.busy.pop(ref)
            try:
                found.append(("done", job.index, self.ray.get(ref)))
            except self.RayError as exc:
                found.append(("done", job.index, self._replace(actor, job, exc)))
        found += self._progress()
        return found

    def _progress(self) -> list[tuple]:
        asked = [(job, actor.progress.remote()) for actor, job in self.busy.values()]
        found = []
        for job, ref in asked:
            try:
                found.append(("frames", job.index, self.ray.get(ref, timeout=5.0)))
            except self.RayError:
                pass  # a dying actor: its run() reference reports it
        return found

    def _replace(self, dead, job: BatchJob, exc: Exception) -> JobOutcome:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        log.warning("a Ray worker died while processing %s: %s", job.source, first)
        self.actors[self.actors.index(dead)] = self._start()
        return JobOutcome(error=f"the Ray worker died while processing this input ({type(exc).__name__})")

    def close(self, now: bool = False) -> None:
        """The actors end at once (busy ones leave their outputs under .part names); a private Ray stops."""
        for actor in self.actors:
            try:
                self.ray.kill(actor)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self.ray.shutdown()
