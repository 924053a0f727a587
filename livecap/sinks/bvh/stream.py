"""One BVH file written as frames arrive, safe against crashes, kill -9 and a full disk.

- Every frame line goes to the operating system at once (unbuffered writes): a killed process loses nothing.
- About once a second the header's frame count is rewritten in place and the file is fsync'ed: after a power
  loss the file holds every frame up to the last second, and reads as a valid BVH up to that count.
- A sidecar `<name>.bvh.json` says `"state": "recording"` until close() completes the header; a sidecar still
  saying so later (with its process gone) marks an unfinished take for `livecap bvh repair`. What the take learns
  while recording (its held gaps) goes into the sidecar at once (note()), so repair keeps it.
- A failed write (disk full) is cut back to the last whole frame, the count is completed, and OutputError says so.
"""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

from livecap.sinks.bvh.writer import frame_count_field, frame_count_position
from livecap.errors import OutputError

SYNC_SECONDS = 1.0


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


SIDECAR_RESERVE = 4096  # bytes a sidecar holds from the start, so that completing it needs no new disk space


def write_sidecar(path: Path, record: dict) -> None:
    """Atomically (write + rename), so a crash leaves the old or the new sidecar, never half of one. On a full disk
    (no room for the new copy), the sidecar is rewritten in place, in the room reserved when it was created; no
    temporary file is left behind."""
    side = sidecar_path(path)
    text = (json.dumps(record, indent=1) + "\n").ljust(SIDECAR_RESERVE)  # JSON allows the trailing spaces
    temporary = side.with_name(side.name + ".tmp")
    try:
        temporary.write_text(text)
        os.replace(temporary, side)
    except OSError:
        temporary.unlink(missing_ok=True)
        if not side.exists() or side.stat().st_size < len(text):
            raise
        with open(side, "r+") as existing:  # the same size or smaller: no block to allocate
            existing.write(text)
            existing.truncate()


class BvhStream:
    write_bytes = staticmethod(os.write)  # tests swap this to simulate a full disk

    def __init__(self, path: Path, header: str, sidecar: dict, opener=os.open):
        self.path = Path(path)
        self.frames = 0
        self.sidecar = dict(sidecar, state="recording", frames=0, pid=os.getpid())
        self.count_at = frame_count_position(header)
        self.fd: int | None = None
        try:
            write_sidecar(self.path, self.sidecar)
            self.fd = opener(str(self.path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as exc:
            if exc.errno != errno.EEXIST:  # the sidecar just written is this recording's, which does not exist
                sidecar_path(self.path).unlink(missing_ok=True)
            raise OutputError(f"cannot create BVH recording {self.path} ({exc.strerror}): choose a writable "
                              f"--bvh folder") from None
        self.size = 0
        self._append(header.encode("ascii"), "its header")
        self.synced_at = time.monotonic()

    def _append(self, data: bytes, what: str) -> None:
        if self.fd is None:
            raise OutputError(f"the BVH recording {self.path} was already stopped; start a new recording")
        view = memoryview(data)
        try:
            while view:
                view = view[self.write_bytes(self.fd, view):]
        except OSError as exc:
            self._fail(f"writing {what} to {self.path} failed ({exc.strerror}); the {self.frames} frames before "
                       f"are kept: free some disk space or choose another --bvh folder")
        self.size += len(data)

    def _fail(self, message: str):
        """Cut back to the last whole frame, complete the header, and stop this recording."""
        try:
            os.ftruncate(self.fd, self.size)
        except OSError:
            pass
        self.close(error=message)
        raise OutputError(message)

    def write(self, line: str) -> None:
        self._append(line.encode("ascii"), f"frame {self.frames + 1}")
        self.frames += 1
        if time.monotonic() - self.synced_at >= SYNC_SECONDS:
            self.sync()

    def sync(self) -> None:
        """Make the first `frames` frames a valid file on disk."""
        try:
            os.pwrite(self.fd, frame_count_field(self.frames).encode("ascii"), self.count_at)
            os.fsync(self.fd)
        except OSError as exc:
            self._fail(f"updating {self.path} failed ({exc.strerror}) after {self.frames} frames; they are kept: "
                       f"free some disk space or choose another --bvh folder")
        self.synced_at = time.monotonic()

    def note(self, **details) -> None:
        """Records details in the sidecar while recording (the held gaps as they happen), so that a take cut off
        by a crash keeps them: repair starts from this sidecar."""
        self.sidecar.update(details, frames=self.frames)
        try:
            write_sidecar(self.path, self.sidecar)
        except OSError as exc:
            self._fail(f"updating {sidecar_path(self.path)} failed ({exc.strerror}) after {self.frames} frames; they "
                       f"are kept: free some disk space or choose another --bvh folder")

    def close(self, **details) -> None:
        """Completes the header and the sidecar. Never raises: what was written stays readable."""
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        try:
            os.pwrite(fd, frame_count_field(self.frames).encode("ascii"), self.count_at)
            os.fsync(fd)
        except OSError:
            pass  # a header that cannot be completed is what `livecap bvh repair` is for
        finally:
            os.close(fd)
        try:
            write_sidecar(self.path, dict(self.sidecar, state="complete", frames=self.frames, **details))
        except OSError:
            pass
