"""Landmark models behind one protocol: each speaks a keypoint scheme that code reads points from by name, and the
catalog's role and format pick the wrapper class that runs it, so a new model is a catalog entry plus a wrapper."""

from __future__ import annotations

import json
from dataclasses import replace

import cv2
import numpy as np
import pytest

from conftest import media
from livecap.errors import LivecapError, ModelError
from livecap.keypoints import COCO17, KeypointScheme
from livecap.models.blazepose import BLAZEPOSE33, BlazePoseLandmarker
from livecap.facemesh import BODY_FACE_POINTS, FACE478
from livecap.models.catalog import ModelCatalog
from livecap.models.crop import roi_from_coco17
from livecap.models.face import FaceMeshLandmarker, face_roi_from_body
from livecap.models.hands import HAND21
from livecap.models.landmarker import LANDMARKERS, load_landmarker
from livecap.models.movenet import MoveNetMultiPose
from livecap.models.runtime import OnnxModel, RuntimeOptions
from livecap.pose.face import FaceSettings
from livecap.pose.pipeline import PipelineModels
from livecap.settings import PipelineSettings
from livecap.types import Landmarks

SHIPPED = ModelCatalog(user_dir="/nonexistent")
FACE = KeypointScheme("blazepose_face7", ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "mouth_left",
                                          "mouth_right"))


class BlazePoseFace:
    """A landmark model of a format the shipped code does not know: the face points of a body model's output."""

    scheme = FACE

    def __init__(self, model: OnnxModel):
        self.model, self.body = model, BlazePoseLandmarker(model)

    def __call__(self, image_rgb, rois, masked=None):
        points = BLAZEPOSE33.indices(*FACE.points)
        return [replace(found, image=found.image[points], world=found.world[points], scheme=FACE, roi_points=None)
                for found in self.body(image_rgb, rois, masked)]


@pytest.fixture(scope="module")
def person():
    """A real photo (RGB) and the crop MoveNet places on its first person."""
    rgb = cv2.cvtColor(cv2.imread(str(media("images/ochuman/000817.jpg"))), cv2.COLOR_BGR2RGB)
    people = MoveNetMultiPose(OnnxModel(SHIPPED.require("movenet_multipose_lightning").path), (256,)).run(rgb, 256)
    return rgb, roi_from_coco17(people.keypoints[0], people.boxes[0])


def test_a_scheme_names_its_points_their_mirror_twins_and_its_coco17_subset():
    assert BLAZEPOSE33.index("left_hip") == 23 and len(BLAZEPOSE33) == 33
    assert BLAZEPOSE33.coco17.tolist() == [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]
    assert COCO17.mirrored.tolist() == [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
    assert (BLAZEPOSE33.index("mouth_left"), BLAZEPOSE33.index("mouth_right")) in BLAZEPOSE33.mirror_pairs
    assert HAND21.coco17 is None and HAND21.mirror_pairs == ()  # one hand: no sides, no COCO body
    with pytest.raises(LivecapError, match="has no point 'left_toe'"):
        BLAZEPOSE33.index("left_toe")


def test_the_shipped_landmark_models_load_through_the_catalog_as_their_wrappers():
    for name in ("blazepose_landmark_lite", "blazepose_landmark_full", "blazepose_landmark_heavy"):
        assert type(load_landmarker(SHIPPED, name, "landmarks", RuntimeOptions())) is BlazePoseLandmarker
    for name in ("hand_landmark_lite", "hand_landmark_full"):
        assert load_landmarker(SHIPPED, name, "hands", RuntimeOptions()).scheme is HAND21
    with pytest.raises(ModelError, match="'hand_landmark_lite' plays the role 'hands', not 'landmarks'"):
        load_landmarker(SHIPPED, "hand_landmark_lite", "landmarks", RuntimeOptions())


def test_the_face_mesh_loads_through_the_catalog_with_the_iris_model_as_its_part(person):
    """The face model is a catalog entry like the others (role face, format mediapipe_face_mesh) and the iris model
    a part its wrapper takes (role iris). On the photo's face, cut from its body's face points: one result of the
    478-point scheme, the mesh's nose and eyes (the irises' centres) where the body's are, by name."""
    rgb, roi = person
    [body] = load_landmarker(SHIPPED, "blazepose_landmark_full", "landmarks", RuntimeOptions())(rgb, [roi])
    face_roi = face_roi_from_body(body.image[BLAZEPOSE33.indices(*BODY_FACE_POINTS)])
    for iris in (None, "iris_landmark"):
        face = load_landmarker(SHIPPED, "face_landmark", "face", RuntimeOptions(), iris=iris)
        assert type(face) is FaceMeshLandmarker and face.scheme is FACE478 and len(FACE478) == 478
        [found] = face(rgb, [face_roi])
        assert isinstance(found, Landmarks) and found.scheme is FACE478 and found.image.shape == (478, 3)
        assert found.presence > 0.5 and found.iris == (iris is not None)
        for point in ("nose", "left_eye", "right_eye"):
            gap = found.image[FACE478.index(point), :2] - body.image[BLAZEPOSE33.index(point), :2]
            assert np.linalg.norm(gap) < FaceSettings().max_nose_gap * face_roi.size, point
    with pytest.raises(ModelError, match="'hand_landmark_lite' plays the role 'hands', not 'iris'"):
        load_landmarker(SHIPPED, "face_landmark", "face", RuntimeOptions(), iris="hand_landmark_lite")


def test_a_new_landmark_model_is_a_catalog_entry_and_a_wrapper_class(tmp_path, person):
    """The face points of BlazePose full, listed in a user catalog under a role and a format of their own and read
    by a wrapper class registered for them: loaded through the catalog, it gives the body model's face points in
    its own scheme's order."""
    full = SHIPPED.entries["blazepose_landmark_full"]
    entry = {"name": "face_points", "file": str(full.path), "sha256": full.sha256, "role": "face",
             "format": "blazepose_face"}
    (tmp_path / "catalog.json").write_text(json.dumps({"format": 1, "models": [entry]}))
    catalog = ModelCatalog(user_dir=tmp_path)
    assert catalog.status("face_points").state == "ok"
    registry = {**LANDMARKERS, "face": {"blazepose_face": BlazePoseFace}}
    face = load_landmarker(catalog, "face_points", "face", RuntimeOptions(), registry)
    assert isinstance(face, BlazePoseFace) and face.scheme is FACE
    rgb, roi = person
    [found] = face(rgb, [roi])
    [body] = BlazePoseLandmarker(OnnxModel(full.path))(rgb, [roi])
    assert found.scheme is FACE and found.image.shape == (7, 3) and found.presence > 0.5
    for point in FACE.points:
        assert np.array_equal(found.image[FACE.index(point)], body.image[BLAZEPOSE33.index(point)])
    eyes, mouth = found.image[FACE.indices("left_eye", "right_eye")], found.image[FACE.indices("mouth_left")]
    assert (eyes[:, 1] < mouth[0, 1]).all()  # a face: the eyes above the mouth
    with pytest.raises(ModelError, match="no face wrapper reads"):
        load_landmarker(catalog, "face_points", "face", RuntimeOptions())  # the shipped face wrapper reads the mesh


def test_a_landmark_model_of_an_unknown_format_fails_naming_it_and_a_bare_file_takes_its_roles_format(tmp_path):
    lite = SHIPPED.entries["blazepose_landmark_lite"]
    entry = {"name": "blazepose_landmark_full", "file": str(lite.path), "role": "landmarks", "format": "openpose"}
    (tmp_path / "catalog.json").write_text(json.dumps({"format": 1, "models": [entry]}))
    with pytest.raises(ModelError, match="format 'openpose', which no landmarks wrapper reads"):
        PipelineModels.load(PipelineSettings(model_dir=str(tmp_path)))
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "my_blazepose.onnx").symlink_to(lite.path)  # no catalog entry: no role, no format
    landmarker = load_landmarker(ModelCatalog(user_dir=bare), "my_blazepose", "landmarks", RuntimeOptions())
    assert type(landmarker) is BlazePoseLandmarker
