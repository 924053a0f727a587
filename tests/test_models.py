"""Shipped models are present and intact; broken or unknown model files fail with a clear message."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import media, run_livecap
from livecap.models.catalog import ModelCatalog
from livecap.models.runtime import resolve_providers
from livecap.errors import ModelError, RuntimeMissingError
from test_errors import assert_one_line_error

SHIPPED = {"movenet_multipose_lightning", "blazepose_landmark_lite", "blazepose_landmark_full",
           "blazepose_landmark_heavy", "hand_landmark_lite", "hand_landmark_full", "movenet_singlepose_thunder",
           "nanodet_g", "face_landmark", "iris_landmark", "face_detection_short_range"}


def test_every_shipped_model_verifies():
    catalog = ModelCatalog(user_dir="/nonexistent")
    assert SHIPPED <= set(catalog.names())
    for name in SHIPPED:
        status = catalog.status(name)
        assert status.state == "ok", status.problem()
        assert catalog.entries[name].license == "Apache-2.0"


def test_catalog_names_each_models_real_input_and_outputs():
    """catalog.json is where the input and output names live (tools/build_models.py cuts graphs to its outputs)."""
    from livecap.models.runtime import OnnxModel

    catalog = ModelCatalog(user_dir="/nonexistent")
    listed = {m["name"]: m for m in json.loads((catalog.shipped_dir / "catalog.json").read_text())["models"]}
    for name in SHIPPED:
        model = OnnxModel(catalog.require(name).path)
        assert model.input_names == [listed[name]["input"]["name"]], name
        assert sorted(model.output_names) == sorted(listed[name]["outputs"]), name


def test_models_verify_command_reports_all_ok():
    done = run_livecap("models", "verify", "--model-dir", "/nonexistent")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all models verified" in done.stdout
    for name in SHIPPED:
        assert name in done.stdout


def _user_catalog_with(tmp_path, name: str, file_bytes: bytes | None) -> str:
    """A user model dir whose catalog overrides a shipped model with a broken copy (or a missing file)."""
    shipped = ModelCatalog(user_dir="/nonexistent").entries[name]
    if file_bytes is not None:
        (tmp_path / shipped.path.name).write_bytes(file_bytes)
    entry = {"name": name, "file": shipped.path.name, "sha256": shipped.sha256, "role": shipped.role}
    (tmp_path / "catalog.json").write_text(json.dumps({"format": 1, "models": [entry]}))
    return str(tmp_path)


def test_truncated_model_fails_naming_the_file_and_the_fix(tmp_path):
    real = ModelCatalog(user_dir="/nonexistent").entries["blazepose_landmark_full"].path.read_bytes()
    model_dir = _user_catalog_with(tmp_path, "blazepose_landmark_full", real[: len(real) // 2])
    done = run_livecap("process", str(media("images/ochuman/000817.jpg")), "--out", str(tmp_path / "o.jsonl"),
                       "--model-dir", model_dir)
    assert_one_line_error(done, "blazepose_pose_landmark_full.onnx", "truncated or altered")
    verify = run_livecap("models", "verify", "--model-dir", model_dir)
    assert verify.returncode == 1 and "altered" in verify.stdout


def test_missing_model_fails_naming_the_file(tmp_path):
    model_dir = _user_catalog_with(tmp_path, "movenet_multipose_lightning", None)
    done = run_livecap("process", str(media("images/ochuman/000817.jpg")), "--out", str(tmp_path / "o.jsonl"),
                       "--model-dir", model_dir)
    assert_one_line_error(done, "movenet_multipose_lightning.onnx", "missing")


def test_corrupt_unlisted_model_fails_without_an_onnx_runtime_traceback(tmp_path):
    (tmp_path / "garbage.onnx").write_bytes(b"\x08\x07not really a protobuf" * 100)
    catalog = ModelCatalog(user_dir=tmp_path)
    assert catalog.status("garbage").state == "unverified"
    from livecap.models.runtime import OnnxModel

    with pytest.raises(ModelError, match="garbage.onnx.*cannot be loaded"):
        OnnxModel(catalog.require("garbage").path)


def test_user_model_directory_from_the_environment(tmp_path):
    shutil.copy(ModelCatalog().require("nanodet_g").path, tmp_path / "my_people_detector.onnx")
    done = run_livecap("models", "list", env={"LIVECAP_MODEL_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "my_people_detector" in done.stdout and str(tmp_path) in done.stdout


def test_heavy_landmarks_run_only_where_a_gpu_carries_them():
    from livecap.pose.pipeline import PipelineModels
    from livecap.settings import PRESETS, PipelineSettings

    assert PRESETS["accurate"].gpu_landmark_model == "blazepose_landmark_heavy"
    models = PipelineModels.load(PipelineSettings(preset="accurate", providers=("cpu",)))
    assert models.landmarker.model.path.name == "blazepose_pose_landmark_full.onnx"


def test_provider_choice():
    available = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert resolve_providers(None, available) == available
    assert resolve_providers(["cpu"], available) == ["CPUExecutionProvider"]
    assert resolve_providers(None, ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    with pytest.raises(RuntimeMissingError, match="CoreMLExecutionProvider"):
        resolve_providers(["coreml"], available)
