"""The second pass's fit of one person: every frame they were seen, in order, with the whole take's bones frozen
from the first frame, warm from the last frame's pose while they are seen frame after frame. The fit is run twice:
on the landmarks, then on the joints of that fit once smoothed (livecap.refine.smooth), given as the landmarks they
stand for (`landmarks_of`). The last fit plants the feet as the live fit does (livecap.pose.fitting.plant), for the
root: while a foot is in contact (livecap.pose.contact, judged on that fit) the root's sideways and depth position
is held from frame to frame, so that the legs, not the root, take the landmarks' depth noise while someone stands
(without it, two_people's standing people drifted 8 and 24 cm in depth in their first second, though their
ankles stayed within about 10 pixels of 1080 in the image; the live fit holds them within 6 mm in depth, this
one within 4 cm). The feet themselves are not pinned in the fit (anchor weight 0): livecap.refine.feet holds them
afterwards, on the spot they stand on over their whole contact, where the fit's anchor would hold them where they
were put down (that cost two_people 12 mm of agreement p95 with the landmarks, and added jitter where an anchor
let go)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from livecap import skeleton
from livecap.camera import CameraIntrinsics
from livecap.pose.contact import ContactSettings, FootContacts, joints_in_contact
from livecap.pose.fitting import FitSettings, FitState, SkeletonFitter, model, plant


@dataclass
class FittedPerson:
    """One person's fit over the frames they were seen (n of them)."""

    rotations: np.ndarray  # n x joints x 4: local quaternions (x y z w); the root's is in camera space
    root: np.ndarray  # n x 3: camera space, metres
    contacts: np.ndarray | None = None  # n x 2 (left, right), where the fit planted the feet


def fit_person(image33: np.ndarray, world33: np.ndarray, warm: np.ndarray, offsets: np.ndarray,
               camera: CameraIntrinsics, fit_settings: FitSettings | None = None, on_frame=None,
               times: np.ndarray | None = None, contact_settings: ContactSettings | None = None,
               planted: np.ndarray | None = None) -> FittedPerson:
    """image33, world33: one person's landmarks (frames x 33 x 3) in frame order, offsets: their bones. Where
    `warm` is False the fit starts afresh (the person was lost in between). With `times` (the frames', seconds)
    the root is held while a foot is in contact, as live (the feet not pinned), and the contacts returned: judged
    frame by frame on this fit (livecap.pose.contact), or given (`planted`: frames x 2, left and right)."""
    if times is not None:
        fit_settings = replace(fit_settings or FitSettings(), anchor_weight=0.0)
    fitter = SkeletonFitter(camera, fit_settings)
    state = FitState(offsets=offsets, frozen=True)
    n = len(warm)
    out = FittedPerson(np.empty((n, len(skeleton.JOINTS), 4)), np.empty((n, 3)))
    contacts = None if times is None or planted is not None else FootContacts(contact_settings)
    if times is not None:
        out.contacts = np.zeros((n, 2), bool)
    for k in range(n):
        pose = fitter.fit(state, image33[k], world33[k], temporal=bool(warm[k]))
        out.rotations[k], out.root[k] = pose.rotations, pose.root
        if times is not None:
            if planted is not None:
                flags = {"left": bool(planted[k, 0]), "right": bool(planted[k, 1])}
            else:
                if not warm[k]:
                    contacts.reset()
                flags = contacts.update(float(times[k]), skeleton.world_positions(pose.joints3d))
            plant(state, pose, joints_in_contact(flags))
            out.contacts[k] = flags["left"], flags["right"]
        if on_frame is not None:
            on_frame()
    return out


_PINS = [(model.J[name], landmarks) for name, landmarks in model.LANDMARKS_OF_JOINT.items()]
_ONE_LANDMARK = [(joint, landmarks[0]) for joint, landmarks in _PINS if len(landmarks) == 1]
_HEAD = model.J["Head"]
_READ = sorted({landmark for _, landmark in _ONE_LANDMARK} | {7, 8})  # the landmarks the fit reads


def landmarks_of(joints: np.ndarray, camera: CameraIntrinsics) -> tuple[np.ndarray, np.ndarray]:
    """The landmarks a skeleton's joints stand for (frames x 21 x 3, camera space), as the fit reads them: each
    joint's landmark at it (the hips, neck and head are means of pairs the side joints already give; both ears at
    the head), seen, and projected through the camera (its distortion included). Returns image33, world33 (the
    world points hip-centred), frames x 33 x 3 each; landmarks the fit does not read stay at zero."""
    frames = len(joints)
    world = np.zeros((frames, 33, 3))
    for joint, landmark in _ONE_LANDMARK:
        world[:, landmark] = joints[:, joint]
    world[:, 7] = world[:, 8] = joints[:, _HEAD]
    image = np.zeros((frames, 33, 3))
    image[:, _READ, 2] = 1.0
    distortion = np.array(camera.distortion, np.float64) if any(camera.distortion) else None
    for first in range(0, frames, PROJECTED_FRAMES):  # projectPoints also makes its Jacobians: in parts
        part = world[first:first + PROJECTED_FRAMES, _READ]
        pixels, _ = cv2.projectPoints(part.reshape(-1, 3), np.zeros(3), np.zeros(3), camera.matrix, distortion)
        image[first:first + PROJECTED_FRAMES, _READ, :2] = pixels.reshape(len(part), len(_READ), 2)
    return image, world - joints[:, :1]


PROJECTED_FRAMES = 1024
