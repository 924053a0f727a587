"""The BVH recorder: one file per tracked person, streamed to disk as frames arrive (see docs/bvh.md).

Per person: samples are resampled to a fixed frame rate (livecap.sinks.bvh.resample). The file is created once the
person has been tracked for `min_seconds` and their bone lengths are frozen (the fitter measures them over its
first `bone_frames` frames), so the hierarchy written at the start matches every frame; the frames before that
are held in memory (about a second) and written then. A person tracked for less than `min_seconds` gets no file.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from livecap import __version__, skeleton
from livecap.sinks.bvh.repair import repair_unfinished
from livecap.sinks.bvh.resample import Pose, Resampler
from livecap.sinks.bvh.stream import BvhStream
from livecap.sinks.bvh.writer import UNIT_SCALE, EulerConverter, frame_line, header_text
from livecap.sinks.checks import check_folder
from livecap.errors import OutputError
from livecap.pose.head import eye_rotations
from livecap.types import FrameResult, PersonPose, StreamInfo

log = logging.getLogger("livecap")



@dataclass
class BvhOptions:
    directory: Path
    units: str = "cm"  # "cm" for most tools, "m" for Blender at scale 1
    order: str = "ZXY"  # rotation channel order of every joint
    fps: float = 30.0  # output frame rate; capture timestamps are resampled to it
    min_seconds: float = 1.0  # people tracked for less get no file
    max_gap: float = 0.5  # seconds unseen after which frames hold the last pose (listed as gaps in the sidecar)
    take: str | None = None  # file name prefix; default: the source's name and the start time

    def __post_init__(self):  # the values were checked where they entered (livecap.app.flags, the config reader)
        self.directory = Path(self.directory)


@dataclass
class _Person:
    id: int
    resampler: Resampler
    euler: EulerConverter
    skeleton_frames: int = 0
    offsets: np.ndarray | None = None
    pending: list[Pose] = field(default_factory=list)  # resampled, not yet on disk
    stream: BvhStream | None = None
    gaps_noted: int = 0  # how many of the resampler's gaps the sidecar lists
    fingers: bool = False  # the file has the finger bones (hands on when the person was first seen)
    eyes: bool = False  # the file has the eye bones (faces on when the person was first seen)
    finger_offsets: np.ndarray | None = None  # the finger bones' offsets as last seen

    @property
    def joints(self) -> tuple[list[str], list[int], np.ndarray]:
        """The file's joints: names, parents, rows in concatenate([body, fingers, eyes]) (livecap.skeleton)."""
        return _file_joints(self.fingers, self.eyes)


class BvhSink:
    """Implements livecap.sinks.Sink."""

    name = "bvh"

    def __init__(self, options: BvhOptions):
        self.options = options
        self.scale = UNIT_SCALE[options.units]
        self.people: dict[int, _Person] = {}
        self.info: StreamInfo | None = None
        self.take = options.take
        self.files: list[Path] = []  # created so far
        self.floor: float | None = None  # world y of the floor, set when the first file opens, shared by the take
        self.failed = False  # a write raised: the sink was stopped there
        self.error: str | None = None  # the first failure, of a write or of completing a file at close

    def check(self) -> None:
        check_folder(self.options.directory, "BVH folder", "--bvh")

    def start(self, info: StreamInfo) -> None:
        self.info = info
        folder = self.options.directory
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create the BVH folder {folder} ({exc.strerror}): choose a writable "
                              f"--bvh folder") from None
        repair_unfinished(folder)
        if self.take is None:
            self.take = _free_take(folder, _take_name(info.source))

    def write(self, result: FrameResult) -> None:
        try:
            for person in result.people:
                if person.world is not None:
                    self._add(person, result.time)
        except Exception as exc:
            self.failed = True  # the error raised here is the one the user is told; close() must not repeat it
            self.error = self.error or str(exc)
            raise

    def _add(self, person: PersonPose, time_s: float) -> None:
        track = self.people.get(person.id)
        if track is None:
            track = self.people[person.id] = _Person(person.id, Resampler(self.options.fps, self.options.max_gap),
                                                     EulerConverter(self.options.order))
            track.fingers, track.eyes = person.world.fingers is not None, person.face_tracked
        track.skeleton_frames += 1
        track.offsets, rotations = _joints_of(person, track)
        track.pending += track.resampler.add(float(time_s), Pose(person.world.root, rotations))
        ready = track.skeleton_frames >= skeleton.BONE_FRAMES and track.resampler.seconds >= self.options.min_seconds
        if track.stream is None and ready:
            self._open(track)
        if track.stream is not None:
            self._flush(track)

    def _floor_from(self, track: _Person) -> float:
        """The floor under the first person recorded (a low percentile of their lowest foot over the frames seen
        so far), held for the whole take so that everyone stands on the same floor, at y = 0 in every file."""
        floor = skeleton.FloorEstimator(window=None)
        body = np.flatnonzero(track.joints[2] < len(skeleton.JOINTS))  # the body's joints within the file's order
        for pose in track.pending:
            feet = skeleton.forward_kinematics(track.offsets[body], pose.rotations[body], pose.root)[skeleton.FOOT_JOINTS]
            floor.add(feet[:, 1].min())
        return floor.height if floor.height is not None else 0.0

    def _open(self, track: _Person) -> None:
        if self.floor is None:
            self.floor = self._floor_from(track)
        path = self.options.directory / f"{self.take}_person{track.id}.bvh"
        frame_time = 1.0 / self.options.fps
        sidecar = {"livecap": __version__, "take": self.take, "person": track.id, "source": self.info.source,
                   "units": self.options.units, "order": self.options.order, "fps": self.options.fps,
                   "frame_time": frame_time, "start_time": track.resampler.t0,
                   "floor_y": self.floor,  # metres subtracted from the world y (camera at y = -floor_y)
                   "skeleton": "livecap.skeleton (Unity humanoid names, T-pose rest facing +Z, Y up)"
                               + (" with the finger bones of livecap.fingers" if track.fingers else "")
                               + (" with the eye bones" if track.eyes else ""),
                   "gaps": _gap_list(track.resampler.gaps),
                   **({"refined": self.info.refined} if self.info.refined else {})}  # how, for a refined take
        names, parents, _ = track.joints if track.fingers or track.eyes else (None, None, None)
        track.stream = BvhStream(path, header_text(track.offsets, self.options.order, self.scale, frame_time,
                                                   names=names, parents=parents), sidecar)
        track.gaps_noted = len(track.resampler.gaps)
        self.files.append(path)

    def _flush(self, track: _Person) -> None:
        if len(track.resampler.gaps) != track.gaps_noted:  # a person came back: the sidecar lists the gap before
            track.gaps_noted = len(track.resampler.gaps)    # its frames are written (repair trims it to them)
            track.stream.note(gaps=_gap_list(track.resampler.gaps))
        pending, track.pending = track.pending, []
        lift = np.array([0.0, self.floor, 0.0])
        for pose in pending:
            track.stream.write(frame_line(pose.root - lift, track.euler(pose.rotations), self.scale))

    def close(self) -> None:
        """Completes every file; a person tracked long enough but not yet written gets their file now. After a
        failure, the files already open are completed and no new one is tried: it would fail for the same reason,
        and the people no longer seen since then were not tracked "for less than min_seconds"."""
        for track in self.people.values():
            self._complete(track)
        self.people.clear()

    def _complete(self, track: _Person) -> None:
        long_enough = track.resampler.seconds >= self.options.min_seconds
        try:
            if track.stream is None and long_enough and not self.failed:
                self._open(track)  # bones not frozen yet (a short take): the latest offsets are the best
            if track.stream is not None:
                self._flush(track)
        except Exception as exc:  # noqa: BLE001 - close must not raise: the other files still get completed
            self.error = self.error or str(exc)
            log.log(logging.DEBUG if self.failed else logging.ERROR, "bvh output: %s", exc)
        if track.stream is not None:
            track.stream.close(gaps=_gap_list(track.resampler.gaps), seconds=round(track.resampler.seconds, 6))
        elif track.resampler.last is not None and not long_enough and not self.failed:
            log.info("person %d was tracked for %.2f s only: no BVH file (--bvh-min-seconds %g)", track.id,
                     track.resampler.seconds, self.options.min_seconds)


_REST = np.array([0.0, 0.0, 0.0, 1.0])


@functools.cache
def _file_joints(fingers: bool, eyes: bool) -> tuple[list[str], list[int], np.ndarray]:
    return skeleton.full_skeleton(fingers, eyes)


def _joints_of(person: PersonPose, track: _Person) -> tuple[np.ndarray, np.ndarray]:
    """Rest offsets and local rotations of the file's joints, in its depth-first order: the body's, with every
    finger bone (a hand not seen at rest, a pose without fingers on the offsets seen before) and the eyes (at rest
    where the gaze is not measured: livecap.pose.head.eye_rotations)."""
    world = person.world
    offsets, rotations = [world.offsets], [world.local]
    if track.fingers:
        if world.fingers is not None:
            track.finger_offsets = world.fingers.offsets
        offsets.append(track.finger_offsets)
        rotations.append(np.tile(_REST, (len(skeleton.FINGER_JOINTS), 1)) if world.fingers is None
                         else world.fingers.local)
    if track.eyes:
        eyes = eye_rotations(person.face)
        offsets.append(skeleton.EYE_OFFSETS)
        rotations.append(np.tile(_REST, (len(skeleton.EYE_JOINTS), 1)) if eyes is None else eyes)
    rows = track.joints[2]
    return np.concatenate(offsets)[rows], np.concatenate(rotations)[rows]


def _gap_list(gaps: list[tuple[int, int]]) -> list[list[int]]:
    return [[int(first), int(last)] for first, last in gaps]


def _take_name(source: str) -> str:
    stem = Path(source).stem if source else "take"
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-.") or "take"
    return f"{stem}_{time.strftime('%Y%m%d-%H%M%S')}"


def _free_take(folder: Path, take: str) -> str:
    """`take`, or `take-2`, `take-3`... so that no earlier recording is overwritten."""
    candidate, n = take, 1
    while any(folder.glob(f"{candidate}_person*.bvh")):
        n += 1
        candidate = f"{take}-{n}"
    return candidate
