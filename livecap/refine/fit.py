"""The second pass's fit of one person: every frame they were seen, in order, with the whole take's bones frozen
from the first frame, warm from the last frame's pose while they are seen frame after frame, feet planted as live
(livecap.pose.contact). What comes out is the unsmoothed fit, which livecap.refine.smooth then smooths."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from livecap import skeleton
from livecap.camera import CameraIntrinsics
from livecap.pose.contact import FootContacts, joints_in_contact
from livecap.pose.fitting import FitSettings, FitState, SkeletonFitter, plant


@dataclass
class FittedPerson:
    """One person's fit over the frames they were seen (n of them)."""

    offsets: np.ndarray  # joints x 3: the rest offsets, the same in every frame
    rotations: np.ndarray  # n x joints x 4: local quaternions (x y z w); the root's is in camera space
    root: np.ndarray  # n x 3: camera space, metres
    contacts: np.ndarray  # n x 2: the left and right foot on the floor


def fit_person(image33: np.ndarray, world33: np.ndarray, times: np.ndarray, offsets: np.ndarray,
               camera: CameraIntrinsics, warm_gap: float, fit_settings: FitSettings | None = None, plant_feet=True,
               on_frame=None) -> FittedPerson:
    """image33, world33: one person's landmarks (frames x 33 x 3) in frame order, times: theirs, offsets: their
    bones.
    A frame follows the one before warm when it comes at most `warm_gap` seconds after it (as a live track found
    again within TrackerSettings.predict_seconds carries on); otherwise the fit and the contacts start afresh."""
    fitter = SkeletonFitter(camera, fit_settings)
    state = FitState(offsets=offsets, frozen=True)
    contacts = FootContacts()
    n = len(times)
    out = FittedPerson(offsets, np.empty((n, len(skeleton.JOINTS), 4)), np.empty((n, 3)), np.zeros((n, 2), bool))
    for k in range(n):
        warm = k > 0 and times[k] - times[k - 1] <= warm_gap
        if not warm:
            contacts.reset()
        pose = fitter.fit(state, image33[k], world33[k], temporal=warm)
        flags = contacts.update(float(times[k]), skeleton.world_pose(pose))
        if plant_feet:
            plant(state, pose, joints_in_contact(flags))
        out.rotations[k], out.root[k], out.contacts[k] = pose.rotations, pose.root, (flags["left"], flags["right"])
        if on_frame is not None:
            on_frame()
    return out
