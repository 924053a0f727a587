"""What a per-person landmark model is to the pipeline (the body's, the hands', the face's), and which wrapper
class runs each model of the catalog.

A model's catalog entry (models/catalog.json, or a user model folder's) names its role (what the pipeline uses it
for) and its format (its input and output tensors); `LANDMARKERS` maps the two to the wrapper class that reads
them. A new landmark model of a known format is a catalog entry; one of a new format is an entry plus a wrapper
class added here, its keypoint scheme declared beside it.

A wrapper may take further models beside its own, each a part named by the role it plays: the face mesh's
wrapper takes the iris model (role "iris"), which refines its eyes. The wrapper's `parts` maps each such role to the
format it reads; `load_landmarker(..., iris="iris_landmark")` loads the part from the catalog, checks its role
and format, and hands it to the wrapper (a part left out, None, is not loaded: the face mesh then runs alone).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from livecap.errors import ModelError
from livecap.keypoints import KeypointScheme
from livecap.models.blazepose import BlazePoseLandmarker
from livecap.models.catalog import ModelCatalog, ModelEntry
from livecap.models.face import FaceMeshLandmarker
from livecap.models.hands import MediaPipeHandLandmarker
from livecap.models.runtime import OnnxModel, RuntimeOptions, load_model
from livecap.types import Landmarks, Roi


class Landmarker(Protocol):
    """A landmark model run on crops: every crop of a frame in one batched call, each result's points in the
    order of `scheme`, mapped back to the image."""

    scheme: KeypointScheme
    model: OnnxModel

    def __call__(self, image_rgb: np.ndarray, rois: list[Roi],
                 masked: list[Landmarks | None] | None = None) -> list[Landmarks]:
        """One result per crop (`rois`, image pixels, RGB image). masked[i], when given, is another body to paint
        out of crop i, for a model that follows the one body its crop was cut for (others ignore it)."""
        ...


# role -> format -> wrapper class (a class whose instances are Landmarkers, built from the loaded model)
LandmarkerRegistry = dict[str, dict[str, type]]
LANDMARKERS: LandmarkerRegistry = {
    "landmarks": {"blazepose": BlazePoseLandmarker},  # one person's body: BlazePose lite, full and heavy
    "hands": {"mediapipe_hand": MediaPipeHandLandmarker},  # one hand: MediaPipe's hand landmark lite and full
    "face": {"mediapipe_face_mesh": FaceMeshLandmarker},  # one face: MediaPipe's 478-point mesh (+ its iris part)
}


def load_landmarker(catalog: ModelCatalog, name: str, role: str, options: RuntimeOptions,
                    registry: LandmarkerRegistry = LANDMARKERS, **parts: str | None) -> Landmarker:
    """The catalog's model `name`, loaded and wrapped by the class its role and format name. A model the catalog
    lists without a role or format (a bare .onnx in the user model folder) is taken as the role's first format.
    `parts`: the catalog names of further models the wrapper takes, by role (None: left out)."""
    entry = _entry_for(catalog, name, role)
    formats = registry.get(role, {})
    wrapper = formats.get(entry.format or next(iter(formats), ""))
    if wrapper is None:
        raise ModelError(f"model '{name}' has format '{entry.format}', which no {role} wrapper reads (known: "
                         f"{', '.join(formats) or 'none'}): fix the format in its catalog entry")
    loaded = {}
    for part, part_name in parts.items():
        if part_name is not None:
            part_entry, wanted = _entry_for(catalog, part_name, part), getattr(wrapper, "parts", {}).get(part)
            if wanted is None or part_entry.format not in ("", wanted):
                raise ModelError(f"model '{part_name}' has format '{part_entry.format}', which the {role} wrapper "
                                 f"does not read as its {part} model (known: {wanted or 'none'}): fix the format "
                                 f"in its catalog entry")
            loaded[part] = load_model(catalog, part_entry, options)
    return wrapper(load_model(catalog, entry, options), **loaded)


def _entry_for(catalog: ModelCatalog, name: str, role: str) -> ModelEntry:
    """The catalog entry of a present, intact model that plays `role` (or names none)."""
    entry = catalog.require(name)
    if entry.role and entry.role != role:
        raise ModelError(f"model '{name}' plays the role '{entry.role}', not '{role}': choose a model of role '{role}' "
                         f"(see `livecap models list`)")
    return entry
