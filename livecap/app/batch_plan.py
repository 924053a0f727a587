"""`livecap batch`'s plan, with no processes in it: which inputs the command line names (videos, image folders,
folders of videos, list files), where each one's outputs go (a path mirroring the input under the output folder),
whether those outputs are already complete, and the `batch.json` record of every input.

Outputs are written under temporary names (`.part`) and renamed when complete; a results file under its final
name is therefore complete, and the one thing a re-run checks."""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from livecap.errors import LivecapError, OutputError
from livecap.sources import IMAGE_SUFFIXES

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".ts",
                  ".mts", ".m2ts", ".3gp", ".ogv"}
LIST_SUFFIXES = {".txt", ".list", ".lst"}  # a text file naming one input per line
RESULTS_SUFFIX = ".jsonl"
BVH_SUFFIX = "_bvh"  # the folder of an input's BVH recordings
PART_SUFFIX = ".part"  # an output being written
RECORD_NAME = "batch.json"
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]+")


@dataclass(frozen=True)
class BatchInput:
    source: str  # what the worker opens: an absolute path (reached by path on every node) or a URL
    key: str  # the output's relative path, mirroring the input (POSIX separators)


@dataclass(frozen=True)
class BatchJob:
    index: int  # the input's place in the batch
    source: str
    key: str
    results: Path  # the JSONL results file
    bvh: Path | None  # the folder of BVH recordings, with --bvh

    @property
    def name(self) -> str:
        """The input's name without its extension: the default BVH take name."""
        return PurePosixPath(self.key).stem or "take"


@dataclass
class BatchRecord:
    """One line of batch.json."""

    input: str
    results: str
    status: str  # done, failed or skipped (complete outputs from an earlier run)
    frames: int | None = None
    people: int | None = None  # different people seen
    seconds: float | None = None
    error: str | None = None
    attempts: int = 0
    bvh: str | None = None

    def line(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


def part_path(path: Path) -> Path:
    """The temporary name an output is written under."""
    return path.with_name(path.name + PART_SUFFIX)


# ---- inputs
def _is_url(text: str) -> bool:
    return bool(_URL.match(text))


def _url_key(url: str) -> str:
    parts = urlsplit(url)
    path = "/".join(_UNSAFE.sub("_", p) for p in parts.path.split("/") if p not in ("", ".", ".."))
    query = "_" + _UNSAFE.sub("_", parts.query) if parts.query else ""
    return f"urls/{_UNSAFE.sub('_', parts.netloc) or 'stream'}/{path or 'stream'}{query}"


def _relative_key(path: Path, base: Path) -> str:
    """`path` below `base` as a key; outside it, the whole absolute path without its root (or drive)."""
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.relative_to(path.anchor).as_posix()


def _folder_inputs(folder: Path, base: Path) -> list[BatchInput]:
    """Every video under `folder` (recursively, in sorted order) and every folder holding images (one sequence
    each, processed as `livecap process FOLDER` would)."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        here = Path(root)
        if any(Path(name).suffix.lower() in IMAGE_SUFFIXES for name in files):
            found.append(BatchInput(str(here), _relative_key(here, base)))
        for name in sorted(files):
            if Path(name).suffix.lower() in VIDEO_SUFFIXES:
                found.append(BatchInput(str(here / name), _relative_key(here / name, base)))
    return found


def _list_inputs(listing: Path) -> list[BatchInput]:
    """A text file of inputs, one a line ('#' starts a comment); paths are relative to the file's folder, and
    mirror their path below it (an input outside it mirrors its whole absolute path)."""
    try:
        lines = listing.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LivecapError(f"cannot read the input list {listing} ({exc}): give a UTF-8 text file with one "
                           f"path or URL a line") from None
    base, found = listing.parent, []
    for line in lines:
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        if _is_url(entry):
            found.append(BatchInput(entry, _url_key(entry)))
            continue
        path = Path(os.path.abspath(base / Path(entry).expanduser()))
        if path.is_dir():
            found += _folder_inputs(path, base if path != base else base.parent)
        else:  # a file, or a path that does not exist: the worker reports that input as failed
            found.append(BatchInput(str(path), _relative_key(path, base)))
    return found


def expand_inputs(arguments: list[str]) -> list[BatchInput]:
    """The inputs the command line names, each once, in the order given (folders sorted). A video or image
    mirrors its file name, a folder its name and the path below it; two inputs that would write the same outputs
    are an error."""
    found: list[BatchInput] = []
    for argument in arguments:
        if _is_url(argument):
            found.append(BatchInput(argument, _url_key(argument)))
            continue
        path = Path(os.path.abspath(Path(argument).expanduser()))
        if not path.exists():
            raise LivecapError(f"input {argument} does not exist: check the path")
        if path.is_dir():
            inputs = _folder_inputs(path, path.parent)
            if not inputs:
                raise LivecapError(f"folder {argument} holds no videos or images: give folders of videos "
                                   f"({', '.join(sorted(VIDEO_SUFFIXES)[:5])}, ...) or of images")
            found += inputs
        elif path.suffix.lower() in LIST_SUFFIXES:
            found += _list_inputs(path)
        else:
            found.append(BatchInput(str(path), path.name))
    return _unique(found)


def _unique(inputs: list[BatchInput]) -> list[BatchInput]:
    by_key: dict[str, BatchInput] = {}
    for item in inputs:
        other = by_key.setdefault(item.key, item)
        if other.source != item.source:
            raise LivecapError(f"inputs {other.source} and {item.source} would both write {item.key}"
                               f"{RESULTS_SUFFIX}: give their common parent folder instead, or list them in a "
                               f"text file placed there")
    return list(by_key.values())


def plan_jobs(inputs: list[BatchInput], out_dir: Path, bvh_dir: Path | None) -> list[BatchJob]:
    """Each input's outputs: OUT/<key>.jsonl, and BVH/<key>_bvh/ with --bvh."""
    return [BatchJob(i, item.source, item.key, out_dir / (item.key + RESULTS_SUFFIX),
                     bvh_dir / (item.key + BVH_SUFFIX) if bvh_dir is not None else None)
            for i, item in enumerate(inputs)]


# ---- completeness and the record
def is_complete(job: BatchJob) -> bool:
    """Its results file is under its final name (renamed only once complete) and begins with a results header;
    with --bvh, its recordings folder is there too."""
    try:
        with open(job.results, "rb") as results:
            header = json.loads(results.readline())
    except (OSError, ValueError):
        return False
    return isinstance(header, dict) and "livecap" in header and (job.bvh is None or job.bvh.is_dir())


def read_records(path: Path) -> dict[str, BatchRecord]:
    """An earlier run's batch.json by input (unreadable lines ignored: it is informative, not the truth)."""
    records = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return records
    fields = set(BatchRecord.__dataclass_fields__)
    for line in lines:
        try:
            data = json.loads(line)
            record = BatchRecord(**{k: v for k, v in data.items() if k in fields})
        except (ValueError, TypeError):
            continue
        records[record.input] = record
    return records


def skipped_record(job: BatchJob, earlier: BatchRecord | None) -> BatchRecord:
    """A complete input not run again: its figures from the earlier record when there is one."""
    figures = (earlier.frames, earlier.people, earlier.seconds) if earlier and earlier.status != "failed" else \
        (None, None, None)
    return BatchRecord(job.source, str(job.results), "skipped", *figures, attempts=0,
                       bvh=str(job.bvh) if job.bvh else None)


def write_records(path: Path, records: list[BatchRecord]) -> None:
    """batch.json, one line per input, replaced whole (a reader never sees half of it)."""
    temporary = part_path(path)
    try:
        temporary.write_text("".join(record.line() + "\n" for record in records), encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        raise OutputError(f"cannot write {path} ({exc.strerror}): free some disk space or choose another "
                          f"--out-dir") from None
