"""Stable person ids across frames (pure: detections and landmarks in, tracks out).

Each tracked person's next crop comes from its own landmarks, as MediaPipe does; the people detector runs on the
whole image on a schedule and whenever it saw a body that no track explains, and when a track was lost, only around
where that person can be found again (search_regions). One record is one body:
detections are assigned to tracks by pose similarity (COCO OKS) against each track's own landmarks with a gate,
never by box overlap, and a detection's keypoints join a record only where they agree with its landmarks (the
record: livecap.pose.coco_record). Each rule that weighs a pairing is a function the tracker is given
(livecap.pose.costs); the landmarks speak any keypoint scheme with the COCO-17 points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from livecap.models.crop import box_roi, roi_from_alignment_points, roi_from_coco17
from livecap.pose.coco_record import coco17_record, detector_points
from livecap.pose.costs import TrackerCosts
from livecap.pose.search import merged_regions, searched, where_found_again
from livecap.pose.similarity import (box_area, box_centre, body_outline, keypoint_box, landmark_pose,
                                     mirror_invariant_oks, object_keypoint_similarity)
from livecap.pose.track import Track
from livecap.settings import TrackerSettings
from livecap.types import Candidate, Landmarks, PeopleDetections, SearchRegion

CONFIDENT_LANDMARK = 0.5  # a landmark at least this visible is seen, not guessed
NO_MATCH_COST = 1e6  # finite, so linear_sum_assignment never finds the matrix infeasible
LOCAL_SEARCH_AREA = 0.25  # lost people are sought locally while their regions cover less of the image (search_regions)
REFERENCE_FPS = 30.0  # the frame rate that periods counted in frames (TrackerSettings.detect_every) are counted at


class PoseTracker:
    """`new_state` makes the per-person state each new track carries (filters, fit), so that state is created with
    its person and forgotten with them, with no table of ids to keep in step. `costs`: how detections and crops are
    weighed against tracks (livecap.pose.costs; by default the settings' rules).

    Per frame: `propose(detections)` gives the crops, the landmark model runs on them, `retries(...)` names the
    crops that found another crop's body (to run again with that body masked out), then `update(...)`."""

    def __init__(self, settings: TrackerSettings | None = None, new_state: Callable[[], Any] | None = None,
                 costs: TrackerCosts | None = None):
        self.settings = settings or TrackerSettings()
        self.costs = costs or TrackerCosts.from_settings(self.settings)
        self.new_state = new_state or (lambda: None)
        self.tracks: dict[int, Track] = {}
        self._next_id = 1
        self.frames_since_detection = 0  # whole-image runs
        self._frames_since_search = 0  # any run, the local searches for lost people included
        self._lost_last_frame = False
        self._unexplained = False  # the last detector run saw a body that no track took
        self.detect_every = self.settings.detect_every
        self.predict_frames = self.frames_in(self.settings.predict_seconds, 1 / REFERENCE_FPS)

    def pace(self, frame_interval: float) -> None:
        """Periods are times: at this many seconds a frame, the detector runs as often per second as at 30 fps (a
        10 fps street clip is searched every 4 frames, not every 12, so the search for newcomers costs the same CPU
        per second and finds them as soon at any rate), and a lost person is predicted for as long."""
        self.detect_every = self.frames_in(self.settings.detect_every / REFERENCE_FPS, frame_interval)
        self.predict_frames = self.frames_in(self.settings.predict_seconds, frame_interval)

    @staticmethod
    def frames_in(seconds: float, frame_interval: float) -> int:
        return max(1, round(seconds / frame_interval))

    def reset(self) -> None:
        """Forget every track (ids still never repeat)."""
        self.tracks.clear()
        self._lost_last_frame = self._unexplained = False

    def new_id(self) -> int:
        """A new person's id (a track's, or a face close-up's: livecap.pose.face), never one given before."""
        self._next_id += 1
        return self._next_id - 1

    def active(self) -> list[Track]:
        return [t for t in self.tracks.values() if t.missed == 0]

    def lost(self) -> list[Track]:
        return [t for t in self.tracks.values() if t.missed > 0]

    def predicted(self) -> list[Track]:
        """The people lost for no longer than the prediction lasts, oldest id first: still there, only unseen.
        Not those whose crop found another person's body, which another track keeps: a second crop on one body,
        or a person behind another, where a predicted body would stand on the one in front."""
        return sorted((t for t in self.lost() if t.missed <= self.predict_frames and not t.covered),
                      key=lambda t: t.id)

    def smallest_body(self) -> float | None:
        """The smallest body size (pixels) of the people followed or being looked for; None when there are none."""
        return min((t.body_size for t in self.tracks.values()), default=None)

    def needs_detection(self) -> bool:
        """On a schedule; at once when someone was lost, and soon while they stay lost or a body went unexplained
        (not every frame, so that a body the landmark model cannot follow does not make every frame pay for the
        detector)."""
        soon = max(1, self.detect_every // 4)
        return (self._whole_image_due() or self._lost_last_frame
                or (bool(self._sought()) and self._frames_since_search >= soon))

    def _whole_image_due(self) -> bool:
        since = self.frames_since_detection
        return (not self.active() or since >= self.detect_every
                or (self._unexplained and since >= max(1, self.detect_every // 4)))

    def _sought(self) -> list[Track]:
        """The people lost within the last detector period: likely still there (occluded, or missed by one run),
        so looked for again soon, not a whole period later."""
        return [t for t in self.tracks.values() if 0 < t.missed <= self.detect_every]

    def search_regions(self, width: int, height: int) -> list[SearchRegion] | None:
        """Where a run that needs_detection asks for looks in an image of this size: None for the whole image (on
        its schedule, when no one is followed, or for a body no track explained); else only around the people lost
        lately, as far as a detection can lie and still continue them (livecap.pose.search). Anyone a whole-image
        run would find outside these regions could only be a newcomer, whom the scheduled runs look for. A whole-
        image run does more (finds newcomers anywhere, takes the larger input sizes in turn, restarts drifted tracks
        anywhere, runs the box detector where six are seen), so it is given up only where the regions cost a small
        part of it: under a quarter of the image (MoveNet's time grows with its input's area), as for a street's
        small people (on armwrestling's 340 x 256, local searches of up to half the image cost 0.016 of recall)."""
        if self._whole_image_due() or not self.settings.search_lost_locally:
            return None
        regions = merged_regions([where_found_again(t, self.settings, width, height) for t in self._sought()])
        return None if sum(box_area(r.box) for r in regions) >= LOCAL_SEARCH_AREA * width * height else regions

    # ------------------------------------------------------------------ detections -> crops

    def propose(self, detections: PeopleDetections | None, crowd: PeopleDetections | None = None,
                local: list[SearchRegion] | None = None) -> list[Candidate]:
        """The crops to run this frame: every active track, plus detections of lost or new people.

        crowd: boxes of a detector without MoveNet's six-person limit; a box no track and no detection explains is a
        lost track's or a newcomer's crop. local: the search_regions, when only they were searched."""
        active = self.active()
        if detections is None:  # the box detector alone may have run (answering the last frame's whole-image run)
            self.frames_since_detection += 1
            self._frames_since_search += 1
            followed = [self._masked(Candidate(t.id, t.roi, second_model=t.second_model)) for t in active]
            return followed + (self._crowd_candidates(crowd, None, set()) if crowd is not None else [])
        self._frames_since_search = 0
        if local:
            self.frames_since_detection += 1
        else:
            self.frames_since_detection = 0
            self._unexplained = False
        pairs, free = self._match_active(detections, active)
        by_track = {track.id: det_index for det_index, track in pairs}
        # a track whose pose no detection matches may have drifted off its person: it competes with the lost
        # tracks for the unexplained detections, by position and size, and restarts from the detection's crop
        # (after a local run, only a track the regions show whole: the run did not look at the others)
        drifted = [t for t in active if t.id not in by_track and (local is None or searched(t.bbox, local))]
        unexplained_tracks = drifted + self.lost()
        # a detection whose pose matches a tracked body is a second detection of it
        unexplained = [i for i in free if not self._explained(detections, i, active)]
        reattached = self._reattach(detections, unexplained, unexplained_tracks)
        restarted = {track.id: det_index for det_index, track in reattached.items()}
        newcomers = [i for i in unexplained if i not in reattached]
        candidates = [self._masked(self._candidate(t.id, t.roi, detections, by_track.get(t.id)))
                      if t.id not in restarted
                      else replace(self._candidate(t.id, None, detections, restarted[t.id]), restart=True)
                      for t in active]
        candidates += [self._candidate(t.id, None, detections, restarted[t.id]) for t in self.lost()
                       if t.id in restarted]
        candidates += [self._candidate(None, None, detections, i) for i in newcomers]
        if crowd is not None:
            candidates += self._crowd_candidates(crowd, detections, set(restarted))
        return candidates

    def _crowd_candidates(self, crowd: PeopleDetections, detections: PeopleDetections | None,
                          claimed: set[int]) -> list[Candidate]:
        """Crops from the boxes that neither a track's box nor a detection's covers: a lost track's (by position
        and size, as for detections) or a newcomer's, cropped from the box."""
        covered = [t.bbox for t in self.active()] + (list(detections.boxes) if detections is not None else [])
        uncovered: list[int] = []
        for index in range(len(crowd)):
            box = crowd.boxes[index]
            if not any(self.costs.covers(box, other) for other in covered):
                uncovered.append(index)
                covered.append(box)
        reattached = self._reattach(crowd, uncovered, [t for t in self.lost() if t.id not in claimed])
        return [self._candidate(reattached[i].id if i in reattached else None, None, crowd, i) for i in uncovered]

    def _explained(self, detections: PeopleDetections, det_index: int, active: list[Track]) -> bool:
        """Is this detection a body already seen: its pose one of theirs (a box-only detection: its box covered)?"""
        if detections.keypoints is None:
            return any(self.costs.covers(detections.boxes[det_index], t.bbox) for t in active)
        return any(self.costs.detection(detections.keypoints[det_index], t) < NO_MATCH_COST for t in active)

    def _match_active(self, detections: PeopleDetections, active: list[Track]):
        """Hungarian assignment of detections to the tracks seen last frame, by the detection cost (OKS against each
        track's own landmarks, gated): (det, track) pairs and the unmatched detections."""
        if not len(detections) or not active or detections.keypoints is None:
            return [], list(range(len(detections)))
        cost = np.full((len(detections), len(active)), NO_MATCH_COST)
        for i in range(len(detections)):
            for j, track in enumerate(active):
                cost[i, j] = min(self.costs.detection(detections.keypoints[i], track), NO_MATCH_COST)
        rows, cols = linear_sum_assignment(cost)
        pairs = [(int(i), active[j]) for i, j in zip(rows, cols) if cost[i, j] < NO_MATCH_COST]
        matched = {i for i, _ in pairs}
        return pairs, [i for i in range(len(detections)) if i not in matched]

    def _reattach(self, detections: PeopleDetections, det_indices: list[int],
                  tracks: list[Track]) -> dict[int, Track]:
        """Which of these tracks (lost, or seen but explained by no detection) these detections continue, by the
        re-attach cost (where each track was heading and its body size), assigned jointly (the nearest pairs
        overall, not the best-scored detection first: two people side by side must not swap); the others are
        newcomers. A track that a detection explains never competes, so a person is never handed to their
        occluder."""
        if not det_indices or not tracks:
            return {}
        cost = np.full((len(det_indices), len(tracks)), NO_MATCH_COST)
        for row, det_index in enumerate(det_indices):
            for col, track in enumerate(tracks):
                cost[row, col] = min(self.costs.reattach(detections.boxes[det_index], track), NO_MATCH_COST)
        rows, cols = linear_sum_assignment(cost)
        return {det_indices[r]: tracks[c] for r, c in zip(rows, cols) if cost[r, c] < NO_MATCH_COST}

    def _masked(self, candidate: Candidate) -> Candidate:
        """A track whose crop found another person's body in the last frame has that body, moved on by its
        velocity, painted out of this frame's crop at once, for as long as both are followed (once they part, the
        paint falls outside the crop): the landmark model then runs once per crop, where a retry (see `retries`)
        costs a second call in every frame that people overlap."""
        masking = self.tracks.get(self.tracks[candidate.track_id].masked_by)
        if masking is not None and masking.missed == 0:
            body = masking.landmarks.image.copy()
            body[:, :2] += masking.velocity
            candidate.mask, candidate.masked_by = replace(masking.landmarks, image=body), masking.id
        return candidate

    @staticmethod
    def _candidate(track_id, roi, detections: PeopleDetections, det_index: int | None) -> Candidate:
        if det_index is None:
            return Candidate(track_id, roi)
        keypoints = None if detections.keypoints is None else detections.keypoints[det_index]
        if roi is None:
            roi = (roi_from_coco17(keypoints, detections.boxes[det_index]) if keypoints is not None
                   else box_roi(detections.boxes[det_index]))
        return Candidate(track_id, roi, float(detections.scores[det_index]), keypoints)

    # ------------------------------------------------------------------ landmarks -> tracks

    def _continuity(self, candidate: Candidate, pose: tuple[np.ndarray, float]) -> tuple:
        """Sort key: which crop keeps a body that several crops found (`pose`: its landmark_pose). A track whose
        previous pose this result continues best, then the older; a newcomer never takes a body from a track."""
        track = self.tracks.get(candidate.track_id) if candidate.track_id is not None else None
        if track is None:
            return (1, 0.0, 0)
        return (0, -object_keypoint_similarity(pose[0], track.own_coco17, box_area(track.joint_box)), -track.age)

    def retries(self, candidates: list[Candidate], results: list[Landmarks]) -> list[int]:
        """Crops whose landmarks found a body that another crop keeps (people close together: the landmark model
        follows the more visible one): their candidate indices, each candidate given that body as its mask to run
        the crop again with."""
        poses = {i: landmark_pose(r) for i, r in enumerate(results) if self.sees(r)}  # each once, not per pair
        order = sorted(poses, key=lambda i: self._continuity(candidates[i], poses[i]))
        kept: list[int] = []
        retry: list[int] = []
        for i in order:
            owner = next((k for k in kept if self._same_body_as(candidates[i], poses[i], candidates[k], poses[k])),
                         None)
            if owner is None:
                kept.append(i)
            else:
                retry.append(i)
                candidates[i].mask, candidates[i].masked_by = results[owner], candidates[owner].track_id
        return retry

    def sees(self, landmarks: Landmarks) -> bool:
        """Did the landmark model find a person in its crop at all?"""
        return landmarks.presence >= self.settings.presence_threshold

    def update(self, candidates: list[Candidate], results: list[Landmarks], second_model: list[bool] | None = None,
               refined: list[np.ndarray | None] | None = None) -> list[Track]:
        """Apply this frame's landmarks; returns the people seen in it, oldest id first. second_model[i]: result i
        came from the second landmark model (by default: where the candidate asked for it), and its track stays
        with that model until the next detector run; refined[i]: a top-down model's keypoints (17 x 3) of the
        body candidate i found, fused with its detection's."""
        second_model = [c.second_model for c in candidates] if second_model is None else second_model
        refined = [None] * len(candidates) if refined is None else refined
        found: list[tuple[Candidate, Landmarks, np.ndarray | None]] = []
        for candidate, landmarks, second, keypoints in zip(candidates, results, second_model, refined):
            detected = candidate.detection_keypoints
            if not self.sees(landmarks):
                continue
            candidate = replace(candidate, second_model=second)
            if detected is not None and not self._same_body(detected, landmarks):
                # the detector saw a body this crop did not find: look again soon; not when the crop found a body
                # where its detection is, only less precisely than OKS asks of a small person (vtest's 20-pixel-wide
                # pedestrians: 92 of 106 such flags, each a whole-image detector run the next frame)
                self._unexplained |= not self._same_place(candidate, landmarks)
                if candidate.track_id is None:
                    continue  # a newcomer's crop that found another body: no record made of two
                candidate, keypoints = Candidate(candidate.track_id, candidate.roi, masked_by=candidate.masked_by), None
            found.append((candidate, landmarks, keypoints))
        seen = [self._observe(self._track_for(c), c, lm, keypoints)
                for c, lm, keypoints in self._one_crop_per_body(found)]
        seen_ids = {t.id for t in seen}
        covered = {c.track_id for c, _, _ in found} - seen_ids
        self._lost_last_frame = False
        for track in list(self.tracks.values()):
            if track.id in seen_ids:
                continue
            if track.missed == 0:
                self._lost_last_frame = True
                track.covered = track.id in covered
            track.missed += 1
            if track.missed > self.settings.max_missed:
                del self.tracks[track.id]
        return sorted(seen, key=lambda t: t.id)

    def confirms(self, candidate: Candidate, landmarks: Landmarks) -> bool:
        """Do these landmarks show the body the crop was cut for: its detection's pose, else its track's last?"""
        if candidate.detection_keypoints is not None:
            return self._same_body(candidate.detection_keypoints, landmarks)
        track = self.tracks.get(candidate.track_id)
        return track is None or self._same_body(track.own_coco17, landmarks, box_area(track.joint_box))

    def _same_body(self, points: np.ndarray, landmarks: Landmarks, least_area: float = 0.0) -> bool:
        pose, area = landmark_pose(landmarks)
        return self.costs.same_body(points, pose, max(area, least_area))

    def _same_place(self, candidate: Candidate, landmarks: Landmarks) -> bool:
        """A track's crop found a body where its detection is (boxes, for once: poses already matched the
        detection to this track; the question is only whether the crop stayed on that body)."""
        if candidate.track_id not in self.tracks:
            return False
        pose, _ = landmark_pose(landmarks)
        return self.costs.covers(keypoint_box(candidate.detection_keypoints), keypoint_box(pose))

    def _one_crop_per_body(self, found: list[tuple]) -> list[tuple]:
        """Crops that still converged on one body keep one (see _continuity); the others are not seen."""
        poses = [landmark_pose(landmarks) for _, landmarks, _ in found]  # each once, not per pair
        kept: list[int] = []
        for i in sorted(range(len(found)), key=lambda i: self._continuity(found[i][0], poses[i])):
            if not any(self._same_body_as(found[i][0], poses[i], found[k][0], poses[k]) for k in kept):
                kept.append(i)
        return [found[i] for i in kept]

    def _same_body_as(self, candidate: Candidate, found: tuple[np.ndarray, float], other_candidate: Candidate,
                      other: tuple[np.ndarray, float]) -> bool:
        """Did this crop find the body another crop keeps (`found`, `other`: their bodies' landmark_pose)? Two
        people close together (a handshake) have poses whose OKS hovers around the gate (0.46-0.54 on two_people),
        so likeness alone would drop one of them on the last bit of a float. A crop whose body continues its own
        track's last pose (OKS over the gate) better than the other track's is its own person, however alike the
        two are now: on two_people it continues its own at 0.63-0.99 and the other's at 0.35-0.61. Against the
        other's, mirrored too: two crops on one body can see it from the front and from the back (vtest's
        pedestrians: 0.43 as it is, 0.86 mirrored)."""
        (pose, area), (other_pose, other_area) = found, other
        if not self.costs.same_body(pose, other_pose, max(area, other_area)):
            return False
        own, theirs = self.tracks.get(candidate.track_id), self.tracks.get(other_candidate.track_id)
        if own is None or theirs is None or own is theirs:  # no two tracks' last poses to tell them apart
            return True
        own_area = box_area(own.joint_box)
        continues = object_keypoint_similarity(pose, own.own_coco17, own_area)
        return not (self.costs.same_body(pose, own.own_coco17, own_area)
                    and continues > mirror_invariant_oks(pose, theirs.own_coco17, box_area(theirs.joint_box)))

    def _track_for(self, candidate: Candidate) -> Track:
        if candidate.track_id is not None and candidate.track_id in self.tracks:
            return self.tracks[candidate.track_id]
        track = Track(self.new_id(), candidate.roi, None, np.zeros((17, 3), np.float32),  # type: ignore[arg-type]
                      np.zeros(4, np.float32), 0.0, state=self.new_state())
        self.tracks[track.id] = track
        return track

    def _observe(self, track: Track, candidate: Candidate, landmarks: Landmarks, refined: np.ndarray | None
                 ) -> Track:
        """The track takes this crop's body: its record (livecap.pose.coco_record), motion, size and next crop."""
        joint_box = keypoint_box(landmarks.image)
        bbox = body_outline(landmarks.image, landmarks.roi_points)
        seen_box = body_outline(landmarks.image, landmarks.roi_points, CONFIDENT_LANDMARK)
        detected = candidate.detection_keypoints
        if detected is not None:
            detected = detector_points(detected, refined, landmarks, self.costs.same_body)
        if candidate.detection_score > 0:  # a box-only detection's confidence is all the detector says
            track.detection_score = candidate.detection_score
        own, track.coco_offset = coco17_record(landmarks, detected, track.coco_offset, (bbox, joint_box),
                                               self.settings.same_point_tolerance)
        if track.landmarks is not None:
            step = box_centre(seen_box) - box_centre(track.seen_box)
            moving = track.missed == 0
            track.velocity = (0.5 * track.velocity + 0.5 * step if moving else np.zeros(2)).astype(np.float32)
        size = float(max(seen_box[3] - seen_box[1], seen_box[2] - seen_box[0], 1.0))
        track.body_size = size if track.landmarks is None or track.missed else 0.8 * track.body_size + 0.2 * size
        track.landmarks, track.coco17, track.bbox, track.joint_box = landmarks, own, bbox, joint_box
        track.seen_box = seen_box
        track.roi = roi_from_alignment_points(landmarks.roi_points[0], landmarks.roi_points[1])
        track.score = float(track.detection_score * landmarks.presence * landmarks.image[:, 2].mean())
        # found again after being lost for longer than predicted: its motion starts afresh
        track.resumed = track.missed > self.predict_frames
        track.restarted = candidate.restart  # seen, but re-cropped from the detector (its hand crops start afresh)
        track.masked_by, track.second_model = candidate.masked_by, candidate.second_model
        track.missed, track.age = 0, track.age + 1
        return track

