"""Hands for every tracked person: crops from the body, one batched model call per frame, then per hand smoothing,
placement at the body's wrist and the finger fit (pure per-frame core; its state lives on each person's track).

As MediaPipe Holistic does it, without a palm detector: each hand's crop comes from the person's body wrist,
index and pinky landmarks (read by name from the body model's scheme), or, when the hand was found with confidence in the previous frame and its crop still
agrees with the body, from the hand's own landmarks. Left and right come from the body: the crop at the person's
left wrist gives their left hand. A hand whose wrist is out of the image or not visible is not looked for (null),
and a hand the model finds away from the body's wrist is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from livecap import fingers, skeleton
from livecap.keypoints import KeypointScheme
from livecap.models.hands import hand_roi_from_body, hand_roi_from_landmarks
from livecap.models.landmarker import Landmarker
from livecap.pose.filtering import OneEuroFilter, SmoothingSettings
from livecap.pose.fitting.fingers import (HandShape, PosedHand, hand_rotation, hold_hand, matrix_into, pose_hand,
                                          quaternion_of, relaxed)
from livecap.types import HandPose, Landmarks, PersonPose, Roi

HAND_METRES = 0.2  # a hand's size, the One-Euro filter's scale for its metric points
REST = np.tile([0.0, 0.0, 0.0, 1.0], (fingers.BONES_PER_HAND, 1))  # every finger bone's local rotation at rest


@dataclass(frozen=True)
class HandSettings:
    wrist_visibility: float = 0.5  # the body's wrist must be at least this visible for its hand to be looked for
    presence: float = 0.2  # the hand model's presence needed to publish a hand (see hands_found in tests)
    track_presence: float = 0.5  # needed to crop the next frame from the hand's own landmarks
    max_wrist_gap: float = 1.0  # the hand's wrist may lie this many body hand lengths from the body's wrist
    max_crop_shift: float = 0.5  # the own-landmark crop is kept while its centre is within this x the body's crop
    relax_speed: float = 3.0  # radians per second a lost hand's held rotation and fingers turn back towards rest


@dataclass
class HandState:
    """One hand of one person between frames."""

    side: str
    shape: HandShape
    image_filter: OneEuroFilter | None = None
    world_filter: OneEuroFilter | None = None
    roi: Roi | None = None  # the next crop from this frame's own landmarks, when they were confident
    seen: bool = False  # found in the previous frame: its filters carry on
    held: np.ndarray | None = None  # 15 x 4: the fingers' last local rotations (fitted, or relaxing since lost)
    held_hand: np.ndarray | None = None  # 4: the hand's last rotation relative to the forearm, the same way
    time: float | None = None  # of the last frame this hand's person was published in

    def lost(self) -> None:
        self.roi, self.seen = None, False
        for f in (self.image_filter, self.world_filter):
            if f is not None:
                f.reset()


@dataclass
class PersonHands:
    sides: dict[str, HandState] = field(default_factory=dict)

    def reset(self) -> None:
        for hand in self.sides.values():
            hand.lost()


@dataclass
class HandRequest:
    """A crop to run for one hand of one tracked person, with the body's view of that hand."""

    person: int  # index into the frame's tracks
    side: str
    roi: Roi
    body_wrist: np.ndarray  # 2: pixels
    body_hand_length: float  # pixels, wrist -> estimated middle knuckle by the body's landmarks


def _same_hand(a: Landmarks, b: Landmarks) -> bool:
    """Whether two hands found are one: their points lie on average within a fifth of the hand's size."""
    size = float(np.ptp(a.image[:, :2], axis=0).max())
    return float(np.linalg.norm(a.image[:, :2] - b.image[:, :2], axis=1).mean()) < 0.2 * max(size, 1.0)


def _in_image(point: np.ndarray, width: int, height: int) -> bool:
    return 0.0 <= point[0] < width and 0.0 <= point[1] < height


class HandStage:
    """`landmarker`: the hand model (livecap.fingers' point order); `body`: the body model's scheme, whose wrist,
    pinky and index points place each hand's crop."""

    def __init__(self, landmarker: Landmarker, body: KeypointScheme, smoothing: SmoothingSettings | None = None,
                 settings: HandSettings | None = None):
        self.landmarker = landmarker
        self.smoothing = smoothing
        self.settings = settings or HandSettings()
        # per side: the body's wrist, pinky knuckle and index knuckle
        self.body_points = {side: tuple(body.indices(f"{side}_wrist", f"{side}_pinky", f"{side}_index"))
                            for side in fingers.SIDES}

    @staticmethod
    def warm_up() -> None:
        """Loads the finger fit's compiled code (numba) on a typical hand, so that the first hand found is not late."""
        offsets, tips = fingers.typical_offsets("left", fingers.TYPICAL_FOREARM)
        posed = pose_hand(np.zeros((fingers.HAND_POINTS, 3)), "left", np.eye(3), np.zeros(3), offsets, tips)
        hold_hand(posed.quaternions, np.eye(3), np.zeros(3), offsets, tips)

    def new_person(self) -> PersonHands:
        hands = PersonHands()
        for side in fingers.SIDES:
            state = HandState(side, HandShape(side))
            if self.smoothing is not None:
                state.image_filter = OneEuroFilter(self.smoothing.landmarks)
                state.world_filter = OneEuroFilter(self.smoothing.landmarks)
            hands.sides[side] = state
        return hands

    def find_all(self, rgb: np.ndarray, people: list[tuple[np.ndarray, PersonHands, bool]]
                 ) -> list[dict[str, Landmarks | None]]:
        """Every tracked person's hands this frame, from (their body's image landmarks, their hand state, found
        again after being lost) each: per person {"left": ..., "right": ...}, None where no hand was found."""
        for _, hands, resumed in people:
            if resumed:
                hands.reset()
        height, width = rgb.shape[:2]
        requests = self.requests([(body, hands) for body, hands, _ in people], width, height)
        out: list[dict[str, Landmarks | None]] = [dict.fromkeys(fingers.SIDES) for _ in people]
        for request, hand in zip(requests, self._one_owner(requests, self.find(rgb, requests))):
            out[request.person][request.side] = hand
        return out

    def _one_owner(self, requests: list[HandRequest], found: list[Landmarks | None]
                   ) -> list[Landmarks | None]:
        """Two crops that found the same hand (people hand in hand, a wrist the body model put on another person's
        hand): the hand stays with the wrist nearest to it, the other is dropped."""
        gaps = [np.inf if h is None else float(np.linalg.norm(h.image[fingers.WRIST, :2] - r.body_wrist))
                / r.body_hand_length for r, h in zip(requests, found)]
        out = list(found)
        for a in range(len(found)):
            for b in range(a + 1, len(found)):
                if out[a] is not None and out[b] is not None and _same_hand(out[a], out[b]):
                    out[b if gaps[a] <= gaps[b] else a] = None
        return out

    def requests(self, people: list[tuple[np.ndarray, PersonHands]], width: int, height: int) -> list[HandRequest]:
        """The crops to run this frame: every hand whose wrist the body sees inside the image."""
        out = []
        for i, (body, hands) in enumerate(people):
            for side, (wrist, pinky, index) in self.body_points.items():
                state = hands.sides[side]
                if body[wrist, 2] < self.settings.wrist_visibility or not _in_image(body[wrist], width, height):
                    state.lost()
                    continue
                body_roi = hand_roi_from_body(body[wrist], body[pinky], body[index])
                length = float(np.linalg.norm((2 * body[index, :2] + body[pinky, :2]) / 3 - body[wrist, :2]))
                roi = body_roi
                if state.roi is not None and np.hypot(state.roi.cx - body_roi.cx, state.roi.cy - body_roi.cy) \
                        <= self.settings.max_crop_shift * body_roi.size:
                    roi = state.roi
                out.append(HandRequest(i, side, roi, body[wrist, :2].astype(np.float64), max(length, 1.0)))
        return out

    def find(self, rgb: np.ndarray, requests: list[HandRequest]) -> list[Landmarks | None]:
        """All hands of the frame in one model call; a hand not found (or found away from its wrist) is None."""
        s = self.settings
        found = []
        for request, hand in zip(requests, self.landmarker(rgb, [r.roi for r in requests])):
            gap = float(np.linalg.norm(hand.image[fingers.WRIST, :2] - request.body_wrist))
            found.append(hand if hand.presence >= s.presence and gap <= s.max_wrist_gap * request.body_hand_length
                         else None)
        return found

    def attach(self, person: PersonPose, hands: PersonHands, found: dict[str, Landmarks | None],
               time_s: float) -> None:
        """Publishes the person's hands (both keys, None for a hand not found), turns their skeleton's hands to the
        measured rotations and hangs the fitted finger bones below them. A hand not found holds its last rotation
        and fingers, relaxing towards rest at a bounded speed (as the body's lost joints do): it never snaps."""
        fit = person.skeleton
        forearms = self._forearms(person) if fit is not None else None
        posed = []
        for side in fingers.SIDES:
            state, hand = hands.sides[side], found.get(side)
            elapsed = 0.0 if state.time is None else max(time_s - state.time, 0.0)
            state.time = time_s
            if hand is None:
                state.lost()
                person.hands[side] = None
                if fit is not None:
                    posed.append(self._held(fit, forearms[side], state, elapsed))
                continue
            state.roi = hand_roi_from_landmarks(hand.image) if hand.presence >= self.settings.track_presence else None
            image21, world21 = self._smoothed(state, hand, time_s)
            wrist = self._body_wrist(person, side)
            world21 = world21 - world21[fingers.WRIST] + wrist
            pose = HandPose(score=hand.presence, landmarks2d=image21, world=world21.astype(np.float32))
            person.hands[side] = pose
            state.seen = True
            if fit is not None:
                posed.append(self._fit(fit, forearms[side], state, world21, wrist))
                pose.rotations = posed[-1].quaternions.astype(np.float32)
        if fit is not None:
            shapes = [self._shape(fit, hands.sides[side]) for side in fingers.SIDES]
            lengths = [hands.sides[side].shape.bone_lengths for side in fingers.SIDES]
            fit.fingers = fingers.FingerPose(
                np.concatenate([p.positions for p in posed]), np.concatenate([p.quaternions for p in posed]),
                np.concatenate([p.world for p in posed]), np.concatenate([offsets for offsets, _ in shapes]),
                {side: person.hands[side] is not None for side in fingers.SIDES},
                np.concatenate([p.tips for p in posed]),
                np.concatenate([np.full(fingers.BONES_PER_HAND, np.nan) if n is None else n for n in lengths]))
            self._world_hands(person)

    @staticmethod
    def _shape(fit, state: HandState) -> tuple[np.ndarray, np.ndarray]:
        """The hand's rest offsets (15 x 3) and tip offsets (5 x 3): as measured so far, or a typical hand's scaled
        to the person's forearm when it was never seen."""
        if state.shape.offsets is not None:
            return state.shape.offsets, state.shape.tips
        forearm = float(fit.bone_lengths[skeleton.J[f"{fingers.SIDE_NAMES[state.side]}Hand"]])
        return fingers.typical_offsets(state.side, forearm)

    @staticmethod
    def _forearms(person: PersonPose) -> dict[str, np.ndarray]:
        """Each forearm's rotation matrix in camera space, from the person's world pose."""
        pose = person.world if person.world is not None else skeleton.world_pose(person.skeleton)
        out = {}
        for side in fingers.SIDES:
            out[side] = np.empty((3, 3))
            matrix_into(pose.world[skeleton.J[f"{fingers.SIDE_NAMES[side]}LowerArm"]], out[side])
            out[side] = skeleton.CAMERA_TO_WORLD @ out[side]  # world = CAMERA_TO_WORLD @ camera, its own inverse
        return out

    @staticmethod
    def _world_hands(person: PersonPose) -> None:
        """The person's world pose with the hands' new rotations and the fingers (the hands are leaves of the body:
        nothing else of it moves, so it is patched rather than built again)."""
        fit, pose = person.skeleton, person.world
        if pose is None:
            person.world = skeleton.world_pose(fit)
            return
        for side in fingers.SIDES:
            j = skeleton.J[f"{fingers.SIDE_NAMES[side]}Hand"]
            pose.local[j] = fit.rotations[j]
            pose.world[j] = skeleton.quaternion_product(pose.world[skeleton.PARENTS[j]], fit.rotations[j])
        pose.fingers = skeleton.fingers_in_world(fit.fingers)

    def _smoothed(self, state: HandState, hand: Landmarks, time_s: float) -> tuple[np.ndarray, np.ndarray]:
        image21, world21 = hand.image.copy(), hand.world.astype(np.float64)
        if state.image_filter is not None:
            image21[:, :2] = state.image_filter(time_s, image21[:, :2], scale=hand.roi.size)
            world21 = state.world_filter(time_s, world21, scale=HAND_METRES)
        return image21, world21

    def _body_wrist(self, person: PersonPose, side: str) -> np.ndarray:
        """The body's wrist in camera space (its fitted hand joint); without a fit, the hip-centred landmark."""
        if person.skeleton is not None:
            return np.asarray(person.skeleton.joints3d[skeleton.J[f"{fingers.SIDE_NAMES[side]}Hand"]], np.float64)
        return np.asarray(person.world33[self.body_points[side][0]], np.float64)

    @staticmethod
    def _fit(fit, forearm: np.ndarray, state: HandState, world21: np.ndarray, wrist: np.ndarray) -> PosedHand:
        """The measured hand rotation into the body's skeleton, the fingers fitted below it; both held for when
        the hand is lost."""
        hand_world = hand_rotation(world21, state.side)
        state.held_hand = quaternion_of(forearm.T @ hand_world)
        fit.rotations[skeleton.J[f"{fingers.SIDE_NAMES[state.side]}Hand"]] = state.held_hand
        offsets = state.shape.update(world21)
        posed = pose_hand(world21, state.side, hand_world, wrist, offsets, state.shape.tips)
        state.held = posed.quaternions
        return posed

    def _held(self, fit, forearm: np.ndarray, state: HandState, elapsed: float) -> PosedHand:
        """A hand not seen: its last rotation and fingers, each turned back towards rest by at most relax_speed x
        the time since the last frame; at rest below the body's hand when it was never seen. Its joints have no
        positions (NaN): only their rotations are known."""
        joint = skeleton.J[f"{fingers.SIDE_NAMES[state.side]}Hand"]
        if state.held is not None:
            step = self.settings.relax_speed * elapsed
            state.held = relaxed(state.held, step)
            state.held_hand = relaxed(state.held_hand[None], step)[0]
            fit.rotations[joint] = state.held_hand
        hand_world = np.empty((3, 3))
        matrix_into(fit.rotations[joint].astype(np.float64), hand_world)
        hand_world = forearm @ hand_world
        offsets, tips = self._shape(fit, state)
        return hold_hand(state.held if state.held is not None else REST, hand_world, np.full(3, np.nan), offsets, tips)
