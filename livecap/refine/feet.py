"""Planted feet stay planted. Smoothing forward and backward spreads a step over the frames around it, so a foot
about to lift starts to slide while still on the floor, and a fit of noisy landmarks slides a standing foot a
little every frame. In every stretch of frames where a foot is in contact (livecap.refine.contacts, judged over the
whole take), the leg is bent onto one spot, the foot's mean position over the stretch (two-bone IK: the knee's
hinge sets the hip-to-ankle distance, the smallest turn of the thigh points the leg at the spot, the foot keeps its
turn in the world); a few frames either side of a stretch ease the leg from the spot to its own path. The leg's
joints stay within the fit's anatomical limits (livecap.pose.fitting.model): where holding the spot or the foot's
turn would take one past them, it stops at the limit (unlimited, a foot kept its turn up to 7 degrees past its
range on vtest), and the hold gives way instead; where it gives way, or the spot is out of the leg's reach, the
body moves by what the held feet still miss (vtest: feet in contact 0.69 -> 0.04 mm/frame).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from livecap.pose.contact import FEET
from livecap.pose.fitting import model
from livecap.pose.fitting.model import within_limits
from livecap.refine.contacts import runs
from livecap.refine.smooth import joint_positions
from livecap.skeleton import PARENTS, J

EASE_SECONDS = 0.1  # either side of a contact stretch the leg eases onto its own path over this long


def contact_weights(flags: np.ndarray, ease: int) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: how strongly the foot is held (1 in contact, easing to 0 over `ease` frames either side), and
    which contact stretch holds it (an index into the stretches, in order; -1 where none)."""
    frames = len(flags)
    weight, stretch = np.zeros(frames), np.full(frames, -1)
    for k, (first, end) in enumerate(runs(flags)):
        for frame in range(max(first - ease, 0), min(end + ease, frames)):
            distance = first - frame if frame < first else frame - end + 1 if frame >= end else 0
            w = 1.0 - distance / (ease + 1)
            if w > weight[frame]:
                weight[frame], stretch[frame] = w, k
    return weight, stretch


def spots(positions: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Where the foot stood in each contact stretch: its mean position there (stretches x 3)."""
    return np.array([positions[first:end].mean(axis=0) for first, end in runs(flags)]).reshape(-1, 3)


def hold_planted(offsets: np.ndarray, rotations: np.ndarray, root: np.ndarray, positions: np.ndarray,
                 contacts: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One stretch's local rotations (frames x joints x 4) and root (frames x 3) with each leg bent to hold its
    foot, in each stretch of frames it is in contact (contacts: frames x 2, left and right), at its mean position
    there (positions: the joints, frames x joints x 3; times: the frames'). Where a leg cannot reach its spot (it
    would have to stretch or bend past its limits) the body moves by what the held feet still miss, and the legs
    are bent again: a person stands on their feet."""
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    ease = int(round(EASE_SECONDS / max(step, 1e-6)))
    weights, targets = np.zeros((len(rotations), 2)), np.zeros((len(rotations), 2, 3))
    for side_index, (ankle, _) in enumerate(FEET.values()):
        weight, stretch = contact_weights(contacts[:, side_index], ease)
        held = weight > 0
        weights[:, side_index] = weight
        targets[:, side_index] = positions[:, ankle]
        targets[held, side_index] = weight[held, None] * spots(positions[:, ankle], contacts[:, side_index])[
            stretch[held]] + (1 - weight[held, None]) * positions[held, ankle]
    out = _legs_to(offsets, np.array(rotations, np.float64), positions, targets, weights)
    reached = joint_positions(offsets, out, root)[:, [ankle for ankle, _ in FEET.values()]]
    shift = (weights[..., None] * (targets - reached)).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)[:, None]
    if not np.any(np.abs(shift) > 1e-4):
        return out, np.array(root, np.float64)
    return _legs_to(offsets, out, positions + shift[:, None], targets, weights), root + shift


def _legs_to(offsets: np.ndarray, rotations: np.ndarray, positions: np.ndarray, targets: np.ndarray,
             weights: np.ndarray) -> np.ndarray:
    """Each leg bent onto its target (targets: frames x 2 x 3) in the frames it is held (weights over 0)."""
    out = rotations.copy()
    for side_index, side in enumerate(FEET):
        held = weights[:, side_index] > 0
        if held.any():
            out[held] = _leg_to(offsets, out[held], positions[held], targets[held, side_index], side.capitalize())
    return out


def _world(rotations: np.ndarray, joint: int) -> Rotation:
    """A joint's rotation in camera space, composed down its chain (frames)."""
    chain = []
    while joint >= 0:
        chain.append(joint)
        joint = PARENTS[joint]
    world = Rotation.from_quat(rotations[:, chain[-1]])
    for j in reversed(chain[:-1]):
        world = world * Rotation.from_quat(rotations[:, j])
    return world


def _leg_to(offsets: np.ndarray, rotations: np.ndarray, positions: np.ndarray, target: np.ndarray,
            side: str) -> np.ndarray:
    """Two-bone IK of one leg onto `target` (frames x 3), the hip where it is."""
    hip_joint, knee_joint, ankle_joint = J[f"{side}UpperLeg"], J[f"{side}LowerLeg"], J[f"{side}Foot"]
    thigh_length, shin_length = np.linalg.norm(offsets[knee_joint]), np.linalg.norm(offsets[ankle_joint])
    hip = positions[:, hip_joint]
    pelvis, thigh_world = _world(rotations, PARENTS[hip_joint]), _world(rotations, hip_joint)
    shin_world = thigh_world * Rotation.from_quat(rotations[:, knee_joint])
    foot_world = shin_world * Rotation.from_quat(rotations[:, ankle_joint])
    # the knee: the straight leg's hinge angle that puts the ankle at the target's distance from the hip
    reach = np.linalg.norm(target - hip, axis=1)
    bend = np.arccos(np.clip((reach ** 2 - thigh_length ** 2 - shin_length ** 2) / (2 * thigh_length * shin_length),
                             -1.0, 1.0))
    knee = within_limits(Rotation.from_rotvec(np.outer(bend, model.HINGE_AXES[knee_joint])), knee_joint)
    # the thigh: the smallest turn that points the bent leg's ankle at the target
    ankle = thigh_world.apply(offsets[knee_joint] + knee.apply(offsets[ankle_joint]))
    wanted = target - hip
    axis = np.cross(ankle, wanted)
    sine = np.linalg.norm(axis, axis=1, keepdims=True)
    angle = np.arctan2(sine[:, 0], (ankle * wanted).sum(axis=1))
    turn = Rotation.from_rotvec(axis / np.maximum(sine, 1e-12) * angle[:, None])
    thigh = within_limits(pelvis.inv() * turn * thigh_world, hip_joint)
    foot = within_limits((pelvis * thigh * knee).inv() * foot_world, ankle_joint)  # the foot keeps its world turn
    out = rotations.copy()
    out[:, hip_joint], out[:, knee_joint], out[:, ankle_joint] = thigh.as_quat(), knee.as_quat(), foot.as_quat()
    return np.where(out[..., 3:] < 0, -out, out)
