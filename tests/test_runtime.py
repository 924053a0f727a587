"""How models run: IO binding gives session.run's outputs, float16 variants run only where CUDA does, and a setting
keeps float32. (CUDA itself is measured by tools/gpu_bench.py where a GPU is lent.)"""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from conftest import media
from livecap.errors import LivecapError
from livecap.models.blazepose import cut_crops
from livecap.models.catalog import ModelCatalog
from livecap.models.crop import roi_from_coco17
from livecap.models.movenet import MoveNetMultiPose
from livecap.models.runtime import OnnxModel, RuntimeOptions, load_model
from livecap.settings import check_gpu_precision

CPU = RuntimeOptions(["cpu"], 1)


@pytest.fixture(scope="module")
def person_crops() -> np.ndarray:
    """Six 256 x 256 crops of the people MoveNet finds in a vtest frame (five), cut as the pipeline cuts them."""
    capture = cv2.VideoCapture(str(media("video/vtest_300.mp4")))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 50)
    ok, bgr = capture.read()
    assert ok
    frame = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    catalog = ModelCatalog(user_dir="/nonexistent")
    found = MoveNetMultiPose(OnnxModel(catalog.require("movenet_multipose_lightning").path, CPU)).run(frame, 384)
    rois = [roi_from_coco17(found.keypoints[i], found.boxes[i]) for i in range(len(found)) if found.scores[i] >= 0.2]
    assert len(rois) >= 4  # five people found in this frame
    crops = cut_crops(frame, rois)
    return np.concatenate([crops, crops])[:6]  # six: the batch of a full group


def test_io_binding_gives_the_outputs_of_session_run_on_real_crops(person_crops):
    path = ModelCatalog(user_dir="/nonexistent").require("blazepose_landmark_full").path
    model = OnnxModel(path, RuntimeOptions(["cpu"], 1, io_binding=True))
    assert model.io_binding
    for batch in (1, 2, 6):
        feeds = {model.input_names[0]: person_crops[:batch]}
        plain, bound = model.session.run(None, feeds), model.run(None, feeds)
        assert [o.shape for o in bound] == [o.shape for o in plain]
        for got, expected in zip(bound, plain):
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
        named = model.run(["Identity_1"], feeds)  # a subset of the outputs, by name, as the wrappers ask
        np.testing.assert_allclose(named[0], plain[model.output_names.index("Identity_1")], rtol=0, atol=1e-5)


def test_io_binding_is_off_on_the_cpu_unless_asked():
    """Measured no faster on the CPU (docs/benchmarks.md): the plain call stays the CPU's default."""
    path = ModelCatalog(user_dir="/nonexistent").require("blazepose_landmark_lite").path
    assert not OnnxModel(path, CPU).io_binding


def _catalog_with_float16_variant(tmp_path) -> ModelCatalog:
    """A user model folder listing a float16 variant of BlazePose lite (a copy of it stands in for the file: which
    file is loaded is what is checked)."""
    shipped = ModelCatalog(user_dir="/nonexistent").entries["blazepose_landmark_lite"]
    variant = tmp_path / "blazepose_pose_landmark_lite_fp16.onnx"
    shutil.copy(shipped.path, variant)
    entry = {"name": "blazepose_landmark_lite_fp16", "file": variant.name, "sha256": shipped.sha256,
             "role": "landmarks", "format": "blazepose", "variant_of": shipped.name, "precision": "float16"}
    (tmp_path / "catalog.json").write_text(json.dumps({"format": 1, "models": [entry]}))
    return ModelCatalog(user_dir=tmp_path)


def test_a_float16_variant_is_found_but_runs_only_where_cuda_does(tmp_path):
    catalog = _catalog_with_float16_variant(tmp_path)
    assert catalog.float16_variant("blazepose_landmark_lite").path.parent == tmp_path
    assert catalog.float16_variant("blazepose_landmark_full") is None
    model = load_model(catalog, catalog.require("blazepose_landmark_lite"), CPU)
    assert model.path == catalog.entries["blazepose_landmark_lite"].path and model.precision == "float32"
    assert model.providers == ["CPUExecutionProvider"]


def test_an_altered_float16_variant_is_not_used(tmp_path):
    catalog = _catalog_with_float16_variant(tmp_path)
    (tmp_path / "blazepose_pose_landmark_lite_fp16.onnx").write_bytes(b"truncated")
    assert ModelCatalog(user_dir=tmp_path).float16_variant("blazepose_landmark_lite") is None
    assert catalog.names()  # the float32 model is still there


def test_the_results_header_says_each_models_precision():
    from livecap.camera import camera_for
    from livecap.pose.pipeline import PipelineModels, PosePipeline
    from livecap.settings import PipelineSettings
    from livecap.sinks.jsonl import header_record

    settings = PipelineSettings(preset="fast", providers=("cpu",), gpu_precision="float32")
    models = PipelineModels.load(settings, intra_op_threads=1)
    pipeline = PosePipeline(models, settings, camera_for(640, 480), size=(640, 480))
    header = header_record(pipeline.stream_info("clip.mp4", 640, 480, 30.0))
    assert header["precision"] == {"people": "float32", "landmarks": "float32", "crowd": "float32"}
    assert header["settings"]["gpu_precision"] == "float32"


def test_gpu_precision_setting():
    assert check_gpu_precision("Float32") == "float32" and check_gpu_precision("") == "auto"
    with pytest.raises(LivecapError, match="choose auto or float32"):
        check_gpu_precision("float16")
