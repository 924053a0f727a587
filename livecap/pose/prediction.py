"""People lost for a moment, published from their motion (pure: the last published pose in, a moved copy out).

A tracked person whose crop misses them for a frame or two (a score that dips under its threshold on one CPU and
not on another, a hand passing over the face) is still there: dropping them makes every sink see them leave and
come back. For a short time (`TrackerSettings.predict_seconds`) they are published where their motion takes them,
marked `predicted`, with their joint angles held; found again in that time, their filters and fit carry on.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from livecap.types import HandPose, PersonPose


def predicted_person(last: PersonPose, pixels: np.ndarray, metres: np.ndarray | None) -> PersonPose:
    """`last` moved by `pixels` in the image and `metres` in camera space, its joint angles held."""
    shift2d = np.asarray(pixels, np.float32)
    fit = last.skeleton
    if fit is not None and metres is not None:
        shift3d = np.asarray(metres, np.float32)
        fingers = fit.fingers
        if fingers is not None:
            fingers = replace(fingers, positions=fingers.positions + shift3d,
                              tips=None if fingers.tips is None else fingers.tips + shift3d)
        fit = replace(fit, root=fit.root + shift3d, joints3d=fit.joints3d + shift3d, fingers=fingers)
    # world=None: PersonPose computes the moved skeleton's world pose
    return replace(last, bbox=last.bbox + np.tile(shift2d, 2), coco17=_moved2d(last.coco17, shift2d),
                   landmarks2d=_moved2d(last.landmarks2d, shift2d), skeleton=fit, world=None, predicted=True,
                   hands={side: _moved_hand(hand, shift2d, metres) for side, hand in last.hands.items()},
                   face=None if last.face is None else replace(last.face, landmarks2d=_moved2d(last.face.landmarks2d,
                                                                                                shift2d)))


def _moved2d(points: np.ndarray, shift: np.ndarray) -> np.ndarray:
    moved = points.copy()
    moved[:, :2] += shift
    return moved


def _moved_hand(hand: HandPose | None, pixels: np.ndarray, metres: np.ndarray | None) -> HandPose | None:
    if hand is None:
        return None
    world = hand.world if metres is None else hand.world + np.asarray(metres, np.float32)
    return replace(hand, landmarks2d=_moved2d(hand.landmarks2d, pixels), world=world)
