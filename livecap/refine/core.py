"""A whole take refined after capture: the first pass's observations (livecap.refine.take) in, the sequence of
FrameResults every sink writes out. Pure: no threads, no files.

    refined = refine(take, on_progress)      # stitch, whole-take bones, fit, smooth, fill the gaps
    for result in refined.results():         # frame by frame, as the live pipeline would have given them
        sink.write(result)

Per person (livecap.refine.stitch joins the tracker's tracks into people): the bones from every frame they were
seen (livecap.refine.bones), the fit of each of those frames with them (livecap.refine.fit), the fitted joints
smoothed forward and backward (livecap.refine.smooth) and fitted again (the root held while a foot is down, as
live: livecap.refine.fit), planted feet held where they stand (livecap.refine.feet), the gaps of up to a second
between seen stretches filled (livecap.refine.gaps), and, when the take has faces, their face over the whole take
(livecap.refine.faces). Faces seen without a body (close-ups) are published as they were seen, each a person after
the bodies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from livecap.pose.contact import ContactSettings
from livecap.pose.fitting import FitSettings
from livecap.refine.bones import whole_take_offsets
from livecap.refine.contacts import whole_take_contacts
from livecap.refine.fit import fit_person, landmarks_of
from livecap.refine.faces import face_record, face_track
from livecap.refine.gaps import MAX_GAP, fill
from livecap.refine.output import CloseUpTrack, FrameWriter, PersonTrack
from livecap.refine.feet import hold_planted
from livecap.refine.smooth import SmootherSettings, joint_positions, smooth_joints
from livecap.refine.stitch import Person, StitchSettings, by_track, stitch
from livecap.refine.take import Take
from livecap.settings import DEFAULT_SMOOTHING, TrackerSettings
from livecap.types import FrameResult, StreamInfo

Progress = Callable[[int, int], None]  # (person-frames fitted so far, of how many)


@dataclass(frozen=True)
class RefineSettings:
    smoother: SmootherSettings = field(default_factory=lambda: SmootherSettings.from_strength(DEFAULT_SMOOTHING))
    stitch: StitchSettings = field(default_factory=StitchSettings)
    max_gap: float = MAX_GAP  # seconds unseen that are filled at most
    warm_gap: float = TrackerSettings().predict_seconds  # a frame this soon after the last seen is fitted warm
    height: float | None = None  # everyone's standing height in metres, when known
    landmark_model: str | None = None  # what the first pass ran, for the record
    fit: FitSettings = field(default_factory=FitSettings)
    # the fit of the smoothed joints: warm and near them, 3 iterations do (two_people 76.1 mm p95 at 3, 76.4 at 6)
    refit: FitSettings = field(default_factory=lambda: FitSettings(iterations=3))
    # contacts are judged over the whole take (livecap.refine.contacts) up to `height` above the floor; unsmoothed
    # (strength 0) frame by frame as live, a foot still under half the live speed (the root held while a foot is
    # down, 0.3 m/s held two_people's roots 3.1 frames late and skated vtest 0.9 mm/frame)
    contacts: ContactSettings = field(default_factory=lambda: ContactSettings(speed=0.15))

    @classmethod
    def for_take(cls, take: Take) -> "RefineSettings":
        """The settings the take was recorded with (its stream's smoothing strength and height, the landmark model
        that ran)."""
        recorded = take.info.settings
        return cls(SmootherSettings.from_strength(recorded.get("smoothing", DEFAULT_SMOOTHING)),
                   height=recorded.get("height"), landmark_model=take.info.landmark_model or None)

    def record(self, face: bool = False) -> dict:
        """The results header's "refined": how the take was made (`face`: the take has faces)."""
        return {"passes": 2, "smoother": self.smoother.record(), "bone_frames": "all", "max_gap_s": self.max_gap,
                "stitched": True, "contacts": "whole-take stances" if self.smoother.cutoff > 0 else "frame by frame",
                **({"landmark_model": self.landmark_model} if self.landmark_model else {}),
                **({"face": face_record(self.smoother.cutoff)} if face else {})}


@dataclass
class RefinedTake:
    info: StreamInfo  # the take's, with "refined" set
    people: list[Person]
    tracks: list[PersonTrack]
    take: Take
    close_ups: list[CloseUpTrack] = field(default_factory=list)

    @property
    def people_seen(self) -> int:
        return len(self.people) + len(self.close_ups)

    def results(self) -> Iterator[FrameResult]:
        """Every frame of the take in order, with every person published in it."""
        return FrameWriter(self.take, self.tracks, self.close_ups).results()


def refine(take: Take, on_progress: Progress | None = None, settings: RefineSettings | None = None) -> RefinedTake:
    """The take's people stitched, fitted with their whole take's bones, smoothed and their short gaps filled.
    `on_progress(done, total)` is told the person-frames fitted (each twice when smoothing), a few hundred times
    at most."""
    settings = settings or RefineSettings.for_take(take)
    times = np.asarray(take.frames.time)
    people = stitch(take, settings.stitch)
    total, done = len(take.body_rows()) * (2 if settings.smoother.cutoff > 0 else 1), 0
    every = max(total // 200, 1)

    def one_fitted() -> None:
        nonlocal done
        done += 1
        if on_progress is not None and (done % every == 0 or done == total):
            on_progress(done, total)

    tracks = [_track(take, person, times, settings, one_fitted) for person in people]
    close_ups = _close_ups(take, times, settings.smoother.cutoff, len(people) + 1) if take.face else []
    return RefinedTake(replace(take.info, refined=settings.record(take.face)), people, tracks, take, close_ups)


def _close_ups(take: Take, times: np.ndarray, cutoff: float, first_id: int) -> list[CloseUpTrack]:
    """The faces seen without a body, each with its own id (from `first_id` on, by first appearance)."""
    alone = np.flatnonzero(~take.column("body"))
    if not len(alone):
        return []
    frames = take.column("frame")
    faces = [rows for _, rows in by_track(alone, take.column("track"), frames)]
    faces.sort(key=lambda rows: frames[rows[0]])  # by first appearance
    return [CloseUpTrack(first_id + k, frames[rows], face_track(take, rows, frames[rows], times[frames[rows]], cutoff))
            for k, rows in enumerate(faces)]


def _track(take: Take, person: Person, times: np.ndarray, settings: RefineSettings, on_frame) -> PersonTrack:
    """One person: fitted to what was seen, the fitted joints smoothed and fitted again, feet held, gaps filled."""
    rows = take.rows(person.rows, ("image33", "world33"))
    seen_times, camera = times[person.frames], take.info.camera
    offsets = whole_take_offsets(rows["world33"], rows["image33"], settings.height)
    # warm from the frame before, or from one at most warm_gap before (as a live track found again that soon)
    warm = np.concatenate([[False], (np.diff(person.frames) == 1) | (np.diff(seen_times) <= settings.warm_gap)])
    smoothing = settings.smoother.cutoff > 0
    planting = {"times": seen_times, "contact_settings": settings.contacts}  # the last fit holds the root on the feet
    fitted = fit_person(rows["image33"], rows["world33"], warm, offsets, camera, settings.fit, on_frame,
                        **({} if smoothing else planting))
    del rows
    stretches = _stretches(person.frames)
    if smoothing:
        joints = joint_positions(offsets, fitted.rotations, fitted.root)
        planted = np.zeros((len(joints), 2), bool)
        for first, end in stretches:
            joints[first:end] = smooth_joints(joints[first:end], seen_times[first:end], settings.smoother)
            planted[first:end] = whole_take_contacts(joints[first:end], seen_times[first:end],
                                                     settings.contacts.height)
        fitted = fit_person(*landmarks_of(joints, camera), warm, offsets, camera, settings.refit, on_frame,
                            planted=planted, **planting)
    joints, contacts = joint_positions(offsets, fitted.rotations, fitted.root), fitted.contacts
    rotations, root = fitted.rotations.copy(), fitted.root.copy()
    for first, end in stretches:
        span = slice(first, end)
        rotations[span], root[span] = hold_planted(offsets, fitted.rotations[span], fitted.root[span], joints[span],
                                                   contacts[span], seen_times[span])
    timeline = fill(person.frames, seen_times, rotations, root, contacts, times, settings.max_gap)
    face = face_track(take, person.rows, person.frames, seen_times, settings.smoother.cutoff) if take.face else None
    return PersonTrack(person.id, person.rows, offsets, timeline,
                       joint_positions(offsets, timeline.rotations, timeline.root).astype(np.float32), face)


def _stretches(frames: np.ndarray) -> list[tuple[int, int]]:
    """(first, end) of every run of consecutive frames."""
    breaks = np.flatnonzero(np.diff(frames) != 1) + 1
    edges = np.concatenate([[0], breaks, [len(frames)]])
    return list(zip(edges[:-1], edges[1:]))

