"""A refined take's people, frame by frame, as the FrameResults the sinks write (livecap.types), so that the JSONL
results, the BVH recorder and the OSC streams write a refined take exactly as they write a live one.

A seen person carries what the first pass saw of them (box, COCO-17 points, landmarks, hands, face) with the
refined skeleton; a filled one (marked `interpolated`) gets those of the frames either side, interpolated linearly,
no contact and no face. Hands found in the first pass are attached to the refined skeleton as live
(livecap.pose.hands); faces (livecap.refine.faces) turn its head as live (livecap.pose.head). A face seen without a
body (livecap.pose.face.CloseUps) is published as live, a person of its own with its face only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from livecap.fingers import SIDES
from livecap.models.blazepose import BLAZEPOSE33
from livecap.models.hands import HAND21, hand_roi_from_landmarks
from livecap.pose.face import face_only_person
from livecap.pose.hands import HandStage, PersonHands
from livecap.pose.head import HeadFromFace
from livecap.refine.faces import FACE_FIELDS, FaceTrack
from livecap.refine.gaps import Timeline
from livecap.refine.take import Take, face_points
from livecap.types import FrameResult, Landmarks, PersonPose, SkeletonPose

_FIELDS = ("score", "bbox", "coco17", "image33", "world33")


@dataclass
class PersonTrack:
    """One refined person: their rows in the take (the seen frames, in order) and their timeline."""

    id: int
    rows: np.ndarray
    offsets: np.ndarray  # joints x 3
    timeline: Timeline
    joints3d: np.ndarray  # m x joints x 3, camera space, as published
    face: FaceTrack | None = None  # over the seen frames (the rows), when the take has faces


@dataclass
class CloseUpTrack:
    """A face seen without a body, over the frames it was found in."""

    id: int
    frames: np.ndarray  # n: the take's frame positions
    face: FaceTrack  # its rows'


class FrameWriter:
    def __init__(self, take: Take, tracks: list[PersonTrack], close_ups: list[CloseUpTrack] = ()):
        self.take, self.tracks, self.close_ups = take, tracks, list(close_ups)
        spans = [t.timeline.frames for t in tracks] + [c.frames for c in self.close_ups]
        frames = np.concatenate(spans) if spans else np.zeros(0, int)
        owner = np.concatenate([np.full(len(s), k) for k, s in enumerate(spans)]) if spans else np.zeros(0, int)
        entry = np.concatenate([np.arange(len(s)) for s in spans]) if spans else np.zeros(0, int)
        ids = np.array([(tracks + self.close_ups)[k].id for k in owner], int)
        order = np.lexsort((ids, frames))
        self._frames, self._owner, self._entry = frames[order], owner[order], entry[order]
        self._starts = np.searchsorted(self._frames, np.arange(len(take.frames) + 1))
        self.hands = HandStage(None, BLAZEPOSE33) if take.hands else None  # the take holds the published points
        self._hands: list[PersonHands | None] = [self.hands.new_person() if self.hands else None for _ in tracks]
        self._heads = [HeadFromFace() for _ in tracks]
        self._last = np.full(len(tracks), -2)  # the frame each person was last published in

    def results(self) -> Iterator[FrameResult]:
        frames = self.take.frames
        for f in range(len(frames)):
            people = [self._person(self._owner[k], self._entry[k], f, frames.time[f]) if self._owner[k] < len(
                self.tracks) else self._close_up(self._owner[k] - len(self.tracks), self._entry[k])
                for k in range(self._starts[f], self._starts[f + 1])]
            yield FrameResult(index=frames.index[f], time=frames.time[f], captured_at=frames.captured_at[f],
                              people=people, name=frames.name[f])

    def _close_up(self, which: int, entry: int) -> PersonPose:
        close_up = self.close_ups[which]
        row = self.take.rows(close_up.face.rows[[entry]], FACE_FIELDS)[0]
        return face_only_person(close_up.id, close_up.face.pose(entry, face_points(row)))

    def _person(self, owner: int, entry: int, frame: int, time_s: float) -> PersonPose:
        track = self.tracks[owner]
        timeline = track.timeline
        seen = timeline.seen[entry] >= 0
        if seen:
            row = self.take.rows(track.rows[[timeline.seen[entry]]])[0]
            values = {name: row[name] for name in _FIELDS}
        else:
            a, b = self.take.rows(track.rows[[timeline.before[entry], timeline.after[entry]]])
            w = float(timeline.weight[entry])
            values = {name: ((1 - w) * a[name] + w * b[name]).astype(np.float32) for name in _FIELDS}
        rotations = timeline.rotations[entry].astype(np.float32)
        fit = SkeletonPose(joints3d=track.joints3d[entry], root=track.joints3d[entry, 0].copy(), rotations=rotations,
                           bone_lengths=np.linalg.norm(track.offsets, axis=1).astype(np.float32),
                           offsets=track.offsets.astype(np.float32))
        left, right = timeline.contacts[entry]
        person = PersonPose(id=track.id, score=float(values["score"]), bbox=np.array(values["bbox"]),
                            coco17=np.array(values["coco17"]), landmarks2d=np.array(values["image33"]),
                            world33=np.array(values["world33"]), skeleton=fit,
                            contacts={"left": bool(left), "right": bool(right)}, interpolated=not seen)
        if self.hands is not None:
            self._attach_hands(owner, person, row if seen else None, frame, time_s)
        if track.face is not None:
            self._attach_face(owner, person, timeline.seen[entry], row if seen else None, time_s)
        self._last[owner] = frame
        return person

    def _attach_face(self, owner: int, person: PersonPose, seen: int, row, time_s: float) -> None:
        """The face of a seen frame (None where not found or filled), and the head turned as the mesh shows it."""
        person.face_tracked = True
        if row is not None:
            person.face = self.tracks[owner].face.pose(seen, face_points(row))
        person.skeleton, person.world = self._heads[owner].apply(person.skeleton, person.world, person.face, time_s)

    def _attach_hands(self, owner: int, person: PersonPose, row, frame: int, time_s: float) -> None:
        """The hands the first pass found in this frame, on the refined skeleton; a person back after a gap
        starts their hands afresh, as a live track found again does."""
        state = self._hands[owner]
        if self._last[owner] != frame - 1:
            state.reset()
        found = dict.fromkeys(SIDES)
        for k, side in enumerate(SIDES):
            if row is not None and row["hand_found"][k]:
                image21 = np.array(row["hand_image"][k])
                found[side] = Landmarks(image21, np.array(row["hand_world"][k]), float(image21[0, 2]), HAND21,
                                        hand_roi_from_landmarks(image21))
        self.hands.attach(person, state, found, time_s)
