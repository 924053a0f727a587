"""Results that do not hinge on the last bit of a float: another CPU, another ONNX Runtime or OpenCV build computes
every model output a little differently, and who is found, under which id, in which frames must not change.

The spec: every float output of every model, moved by relative noise of 1e-3 (far more than any two CPUs differ),
gives the same people with the same ids in every frame of the sample clip, for every preset. Before the tracker
told two people close together apart by which track's last pose each body continues (not by their likeness
alone), this noise dropped person 2 in 1-5 of the handshake's frames (fast: frames 50-71; accurate: frame 64)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import TWO_PEOPLE
from livecap.models.runtime import OnnxModel
from livecap.pose.pipeline import PipelineModels, build_pipeline
from livecap.settings import PipelineSettings
from livecap.sources import open_file

RELATIVE_NOISE = 1e-3


def people_per_frame(settings: PipelineSettings, models: PipelineModels) -> list[list[tuple[int, bool]]]:
    """Each frame's people as (id, predicted), the clip run through a fresh pipeline."""
    frames = list(open_file(TWO_PEOPLE))
    width, height = frames[0].size
    pipeline = build_pipeline(settings, width, height, models=models)
    return [[(p.id, p.predicted) for p in pipeline.process(frame).people] for frame in frames]


def with_noise(monkeypatch, seed: int) -> None:
    """Every model's float outputs, from here on, times (1 + 1e-3 N(0, 1)) elementwise."""
    rng, run = np.random.default_rng(seed), OnnxModel.run

    def noisy(model, outputs, feeds):
        return [o * (1 + RELATIVE_NOISE * rng.standard_normal(o.shape)).astype(o.dtype)
                if np.issubdtype(o.dtype, np.floating) else o for o in run(model, outputs, feeds)]

    monkeypatch.setattr(OnnxModel, "run", noisy)


@pytest.mark.parametrize("preset", ["fast", "balanced", "accurate"])
def test_model_outputs_moved_by_noise_give_the_same_people_ids_and_frames(preset, monkeypatch):
    settings = PipelineSettings(preset=preset)
    models = PipelineModels.load(settings)
    clean = people_per_frame(settings, models)
    assert len(clean) == 72
    assert all(people == [(1, False), (2, False)] for people in clean), clean
    for seed in (1, 2):
        with_noise(monkeypatch, seed)
        assert people_per_frame(settings, models) == clean, f"seed {seed}"
