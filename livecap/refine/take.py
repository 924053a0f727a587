"""The first pass's record of a whole take: per person-frame, what perception saw (the tracker's person, its raw
landmarks before any smoothing or fit, its hands, its face), in compact rows; per frame, its index and times.

A take grows row by row (one row per person seen in a frame; people only predicted from their motion are not
observations and are not kept). Rows live in fixed-size blocks of one structured array each, so growing never
copies what is already kept; past `memory_limit` bytes new blocks go to temporary files, each memory-mapped only
while it is written or read (one at a time: a mapped file's pages count as the process's memory while mapped), so a
long take with many people stays bounded in memory (10 minutes of 6 people at 30 fps is ~110 MB without hands, ~220
MB with them, ~310 MB more with faces).

A face's 478 points are kept as float16 offsets from the mesh's centre (float32): their rounding is at most
2^-11 of the offset (0.25 px in a face 1000 px across, whose mesh model sees it at 192 px: 5 px a model pixel),
which halves the largest part of a row with faces.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from livecap.facemesh import FACE_POINTS
from livecap.fingers import SIDES
from livecap.types import FacePose, FrameResult, PersonPose, StreamInfo

BLOCK_ROWS = 4096
# bytes of rows kept in memory before new blocks spill to temporary files: little, since a spilled block read back
# comes from the page cache (and costs the process no memory once let go), and the models of the first pass are
# still loaded: a 10-minute take of 6 people at `accurate` (faces and hands on, tools/refine_memory.py) peaked at
# 1165 MB resident with 256 MB here, 968 MB with 64 MB
MEMORY_LIMIT = 64 * 2 ** 20


def row_dtype(hands: bool, face: bool = False) -> np.dtype:
    fields = [("frame", "<i4"), ("track", "<i4"), ("score", "<f4"), ("bbox", "<f4", (4,)),
              ("coco17", "<f4", (17, 3)), ("image33", "<f4", (33, 3)), ("world33", "<f4", (33, 3))]
    if hands:  # per side (livecap.fingers.SIDES order): found, the 21 points in the image and in metres
        fields += [("hand_found", "?", (2,)), ("hand_image", "<f4", (2, 21, 3)), ("hand_world", "<f4", (2, 21, 3))]
    if face:  # body: False for a face seen without a body (livecap.pose.face.CloseUps); the face as found
        fields += [("body", "?"), ("face_found", "?"), ("face_score", "<f4"), ("face_iris", "?"),
                   ("face_origin", "<f4", (2,)), ("face_points", "<f2", (FACE_POINTS, 3))]
    return np.dtype(fields)


def face_points(rows: np.ndarray) -> np.ndarray:
    """The face points (... x 478 x 3, pixels) of rows, or of one row, as kept."""
    points = np.asarray(rows["face_points"], np.float32)
    points[..., :2] += np.asarray(rows["face_origin"])[..., None, :]
    return points


@dataclass
class TakeFrames:
    """Every frame of the take, people or not, in order."""

    index: list[int] = field(default_factory=list)  # the source's frame number
    time: list[float] = field(default_factory=list)  # seconds, media time
    captured_at: list[float] = field(default_factory=list)
    name: list[str | None] = field(default_factory=list)  # image file names, for an image folder

    def __len__(self) -> int:
        return len(self.index)


class Take:
    """A whole take as the first pass saw it. `rows(selection)` reads rows back (a structured array whose fields
    are those of `row_dtype`); `column(name)` one field over every row."""

    def __init__(self, info: StreamInfo, hands: bool = False, memory_limit: int = MEMORY_LIMIT,
                 block_rows: int = BLOCK_ROWS, face: bool = False):
        self.info, self.hands, self.face = info, hands, face
        self.dtype = row_dtype(hands, face)
        self.frames = TakeFrames()
        self.memory_limit, self.block_rows = memory_limit, block_rows
        self._blocks: list[np.ndarray | Path] = []  # in memory, or the file of a spilled one
        self._mapped: tuple[int, np.memmap] | None = None  # the one spilled block mapped now
        self._count = 0
        self._spill: tempfile.TemporaryDirectory | None = None

    def __len__(self) -> int:
        return self._count

    def like(self, memory_limit: int = MEMORY_LIMIT, block_rows: int = BLOCK_ROWS) -> "Take":
        """An empty take of this one's kind (its rows' fields), sharing its frames: for rows chosen from it."""
        out = Take(self.info, self.hands, memory_limit, block_rows, face=self.face)
        out.frames = self.frames
        return out

    @property
    def nbytes_in_memory(self) -> int:
        return sum(b.nbytes for b in self._blocks if isinstance(b, np.ndarray))

    @property
    def spilled(self) -> bool:
        return self._spill is not None

    def add(self, result: FrameResult) -> None:
        """One frame of the first pass: its times and every person seen in it."""
        position = len(self.frames)
        self.frames.index.append(result.index)
        self.frames.time.append(float(result.time))
        self.frames.captured_at.append(float(result.captured_at))
        self.frames.name.append(result.name)
        for person in result.people:
            if not person.predicted:
                self._add_person(position, person)

    def _add_person(self, position: int, person: PersonPose) -> None:
        row = self._next_row()
        observed = person.observed
        row["frame"], row["track"], row["score"], row["bbox"] = position, person.id, person.score, person.bbox
        row["coco17"] = person.coco17
        row["image33"] = person.landmarks2d if observed is None else observed.image
        row["world33"] = person.world33 if observed is None else observed.world
        if self.hands:
            for k, side in enumerate(SIDES):
                hand = person.hands.get(side)
                row["hand_found"][k] = hand is not None
                if hand is not None:
                    row["hand_image"][k] = hand.landmarks2d
                    row["hand_world"][k] = hand.world
        if self.face:
            row["body"] = observed is not None  # a close-up's face comes alone
            self._add_face(row, person.face)

    @staticmethod
    def _add_face(row: np.void, face: FacePose | None) -> None:
        row["face_found"] = face is not None
        if face is not None:
            points = np.asarray(face.landmarks2d, np.float32)
            origin = points[:, :2].mean(axis=0)
            row["face_score"], row["face_iris"], row["face_origin"] = face.score, face.iris, origin
            offsets = points.copy()
            offsets[:, :2] -= origin
            row["face_points"] = offsets

    def body_rows(self) -> np.ndarray:
        """The positions of the rows that are bodies (every row but a close-up's face alone)."""
        return np.flatnonzero(self.column("body")) if self.face else np.arange(self._count)

    def extend(self, rows: np.ndarray) -> None:
        """Rows read from another take (`rows()`), appended; their frames must be this take's."""
        for row in rows:
            block, offset = self._next_slot()
            block[offset] = row

    def _next_row(self) -> np.void:
        block, offset = self._next_slot()
        return block[offset]  # a structured element is a view: writing its fields writes the block

    def _next_slot(self) -> tuple[np.ndarray, int]:
        block, offset = divmod(self._count, self.block_rows)
        if block == len(self._blocks):
            self._blocks.append(self._new_block())
        self._count += 1
        return self._block(block), offset

    def _new_block(self) -> np.ndarray | Path:
        if self.nbytes_in_memory + self.dtype.itemsize * self.block_rows <= self.memory_limit:
            return np.zeros(self.block_rows, self.dtype)
        if self._spill is None:
            self._spill = tempfile.TemporaryDirectory(prefix="livecap-take-")
        path = Path(self._spill.name) / f"block{len(self._blocks)}.rows"
        with open(path, "wb") as file:
            file.truncate(self.dtype.itemsize * self.block_rows)
        return path

    def _block(self, k: int) -> np.ndarray:
        """Block k: in memory, or its file mapped (the block mapped before is let go: its pages stay in the file)."""
        block = self._blocks[k]
        if isinstance(block, np.ndarray):
            return block
        if self._mapped is None or self._mapped[0] != k:
            self._mapped = None
            self._mapped = k, np.memmap(block, self.dtype, mode="r+", shape=(self.block_rows,))
        return self._mapped[1]

    def rows(self, selection: np.ndarray | None = None, fields: tuple[str, ...] | None = None) -> np.ndarray:
        """The rows at these positions (all, in order, without a selection), copied into memory; only the `fields`
        named, when named."""
        if selection is None:
            selection = np.arange(self._count)
        selection = np.asarray(selection, np.int64)
        dtype = self.dtype if fields is None else np.dtype([(name, self.dtype[name]) for name in fields])
        out = np.empty(len(selection), dtype)
        block_of = selection // self.block_rows
        for block in np.unique(block_of):
            mine = block_of == block
            chosen = self._block(block)[selection[mine] - block * self.block_rows]
            out[mine] = chosen if fields is None else chosen[list(fields)]
        return out

    def column(self, name: str) -> np.ndarray:
        """One field of every row, in order (e.g. "track", "frame": small; the landmarks: read per person)."""
        out = np.empty((self._count, *self.dtype[name].shape), self.dtype[name].base)
        for k in range(len(self._blocks)):
            start = k * self.block_rows
            count = min(self.block_rows, self._count - start)
            out[start:start + count] = self._block(k)[name][:count]
        return out

    def close(self) -> None:
        """Frees the rows (and removes a spill file)."""
        self._blocks, self._mapped = [], None
        self._count = 0
        if self._spill is not None:
            self._spill.cleanup()
            self._spill = None


class TakeRecorder:
    """A sink that keeps what the first pass saw as a Take (livecap.sinks.Sink): required, since the take is
    the run's whole output until it is refined."""

    name = "take"
    required = True

    def __init__(self, memory_limit: int = MEMORY_LIMIT):
        self.memory_limit = memory_limit
        self.take: Take | None = None

    def start(self, info: StreamInfo) -> None:
        self.take = Take(info, bool(info.settings.get("hands")), self.memory_limit,
                         face=bool(info.settings.get("face")))

    def write(self, result: FrameResult) -> None:
        self.take.add(result)

    def close(self) -> None:
        """The take stays: it is read after the run."""
