"""Every visible person found, followed under one id, and each record drawn from one body: `livecap process` with
the default preset on real clips, scored by the people benchmark's metrics (tools/people_bench.py).

Measured (balanced, onnxruntime CPU): two_people_1080p recall 0.965 against the reference pass with 0 id switches,
two ids, one in all 72 frames and the other in 71, records consistent 1.000; vtest (300 frames) records consistent
1.000. Floors: the issue's 0.99 for consistency, a little under the measurement for the rest."""

from __future__ import annotations

import numpy as np

from conftest import SHARED_MODELS, media
import people_bench as bp
import people_reference as br
from livecap.models.catalog import ModelCatalog
from livecap.models.runtime import OnnxModel


def ids_per_frame(frames: list[dict]) -> list[list[int]]:
    return [[p["id"] for p in f["people"]] for f in frames]


def consistency(frames: list[dict]) -> float:
    return float(bp.records_consistent([p for f in frames for p in f["people"]]).mean())


def test_two_people_close_together_keep_their_own_ids_all_through(two_people_results):
    """One stands partly behind the other and they hug: the person behind is still followed."""
    _, frames = two_people_results
    stints = bp.stint_lengths(ids_per_frame(frames))
    assert len(stints) == 2, stints
    assert all(sum(runs) >= 70 for runs in stints.values()), stints


def test_every_record_of_two_people_draws_one_body(two_people_results):
    _, frames = two_people_results
    assert consistency(frames) >= 0.99


def test_every_record_of_a_street_scene_draws_one_body(vtest_results):
    _, frames = vtest_results
    assert consistency(frames) >= 0.99


def test_two_people_are_found_in_nearly_every_frame_against_a_reference_pass(two_people_results):
    video = media("video/two_people_1080p.mp4")
    rtmdet = SHARED_MODELS / "rtmdet_nano_person.onnx"
    movenet = OnnxModel(ModelCatalog().require("movenet_multipose_lightning").path)
    reference = br.reference_pass(video, br.ReferenceDetector(movenet, rtmdet if rtmdet.exists() else None))
    _, frames = two_people_results
    figures = bp.recall_against_reference([r.boxes for r in reference], bp.tracked_boxes(frames))
    assert figures.recall >= 0.95, figures
    assert figures.id_switches == 0, figures
    assert np.isfinite(figures.recall)
