"""Every visible person found, followed under one id, and each record drawn from one body: `livecap process` with
the default preset on real clips, scored by the people benchmark's metrics (tools/people_bench.py) against a
reference pass (the strongest detectors at hand on every frame, no tracking; people with 8 or more confident
keypoints).

Measured (balanced, onnxruntime CPU), recall at box IoU 0.5 / id switches, with the people predicted for a moment
(JSONL "predicted") and, in brackets, without them: two_people 0.993 / 0 (two ids, each in all 72 frames),
basketball_240p 0.890 / 2 (0.888 / 2), armwrestling_truncated 0.486 / 2 (0.428 / 0: its reference people are the
bystanders behind the two wrestlers, small, cut by the frame's top and often hidden, whom the prediction bridges;
the wrestlers themselves, cut to a head and an arm, are found by neither MoveNet nor RTMDet, so they are not in it),
vtest_300 0.928 / 12 (0.922 / 12; the switches are within two pairs walking side by side, each about 20 pixels
wide, most of them the reference box matched to one then the other of two overlapping tracks); records consistent 1.000 on every clip. Floors: the issue's 0.99 for
consistency, a little under the measurement for the rest; switch bounds keep a margin, since a float difference
on another CPU can flip one side-by-side pair more or less. The reference passes are shipped (tests/data/reference):
vtest_300 is the original clip's first 300 frames re-encoded, whose reference has 1760 person-frames.

One run is one draw: a change anywhere (a detector run one frame later, a box matched at IoU 0.45) reorders the
detector runs and tracks after it. Started at frames 0, 8, 17 and 31, the same code's recall spans basketball
0.870-0.898 and armwrestling 0.425-0.446 (before BlazePose lite became the second landmark model: 0.871-0.911 and
0.349-0.402), so the small clips' floors sit under the lowest start, not under one run. Fast: vtest_300 0.911 / 5,
basketball 0.894 / 4, armwrestling 0.565 / 1; accurate: vtest_300 0.952 / 19 (0.947 / 15 without the predicted
people), basketball 0.935 / 1."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import MEDIA, SHARED_MODELS, TWO_PEOPLE, VTEST, media, read_jsonl, run_livecap
import people_bench as bp
import people_reference as br
from livecap import skeleton
from livecap.pose.pipeline import PipelineModels, build_pipeline
from livecap.settings import PipelineSettings
from livecap.sinks.jsonl import frame_record
from livecap.types import Frame
from livecap.models.catalog import ModelCatalog
from livecap.models.runtime import OnnxModel

REFERENCE_PASSES = MEDIA / "reference"


def seen_only(frames: list[dict]) -> list[dict]:
    """The frames without their predicted people: who a model saw."""
    return [dict(f, people=[p for p in f["people"] if not p["predicted"]]) for f in frames]


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


def framed(tmp_path, box: tuple[int, int, int, int], scale: float, frames: int) -> list[dict]:
    """`livecap process` on two_people_1080p cut to box (x0, y0, x1, y1) and scaled: how a closer camera frames it."""
    capture, clip = cv2.VideoCapture(str(TWO_PEOPLE)), tmp_path / "framed.mp4"
    writer = None
    for _ in range(frames):
        ok, image = capture.read()
        part = cv2.resize(image[box[1]:box[3], box[0]:box[2]], None, fx=scale, fy=scale)
        writer = writer or cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 28, part.shape[1::-1])
        writer.write(part)
    writer.release()
    done = run_livecap("process", str(clip), "--out", str(tmp_path / "framed.jsonl"))
    assert done.returncode == 0, done.stderr
    return read_jsonl(tmp_path / "framed.jsonl")[1]


def test_people_framed_from_the_chest_up_as_a_desk_webcam_shows_them_are_found(tmp_path):
    """A webcam at a desk shows heads, shoulders and chests, not hips: two_people cut to the top 42% of each frame
    (both men from the chest up until they step down out of view at frame 35). MoveNet sees heads and shoulders;
    each crop is centred on hips placed a torso's length below the shoulders, as MediaPipe's detector places them.
    Measured: both men in frames 1-34 (with crops centred on the chest: no one in frames 0-6, one man after)."""
    frames = framed(tmp_path, (0, 0, 1920, 453), 1.0, 35)
    counts = [len(f["people"]) for f in frames]
    assert sum(count == 2 for count in counts) >= 30, counts
    assert consistency(frames) >= 0.99
    # legs never in the picture take their share of the height the shoulders, head and arms give: standing heights
    # 1.6-1.7 m (from BlazePose's guesses of the legs: 1.1 m, thighs 4 cm long)
    for person in frames[-1]["people"]:
        height = skeleton.height_from_bone_lengths(np.array(person["bone_lengths"]))
        assert 1.45 <= height <= 1.95, (person["id"], height)


def test_a_head_and_shoulders_close_up_is_found(tmp_path):
    """A VTuber's framing: one man's head and shoulders filling the picture (the other's face at its edge).
    Measured: found in 71 of 72 frames, in none with crops centred on the detection's box."""
    frames = framed(tmp_path, (880, 230, 1160, 440), 3.0, 72)
    counts = [len(f["people"]) for f in frames]
    assert sum(count >= 1 for count in counts) >= 64, counts


@pytest.fixture(scope="module")
def reference_detector() -> br.ReferenceDetector:
    rtmdet = SHARED_MODELS / "rtmdet_nano_person.onnx"
    movenet = OnnxModel(ModelCatalog().require("movenet_multipose_lightning").path)
    return br.ReferenceDetector(movenet, rtmdet if rtmdet.exists() else None)


def recall(video: Path, frames: list[dict], detector: br.ReferenceDetector) -> bp.RecallFigures:
    """Against the reference people of each frame, shipped in tests/data/reference: they were found once with
    RTMDet boxes, whose weights are never shipped (delete a file to rebuild it where ../shared/models has them)."""
    reference = br.reference_pass(video, detector, len(frames), cache=REFERENCE_PASSES)
    return bp.recall_against_reference([r.boxes for r in reference], bp.tracked_boxes(frames))


def test_two_people_are_found_in_nearly_every_frame_against_a_reference_pass(two_people_results,
                                                                              reference_detector):
    figures = recall(TWO_PEOPLE, two_people_results[1], reference_detector)
    assert figures.recall >= 0.97, figures
    assert figures.id_switches == 0, figures


def test_most_pedestrians_of_a_street_are_found_against_a_reference_pass(vtest_results, reference_detector):
    """Up to nine people at once, many 35-80 pixels tall: MoveNet's input grows to show them."""
    figures = recall(VTEST, vtest_results[1], reference_detector)
    assert figures.recall >= 0.91, figures
    assert figures.id_switches <= 15, figures


@pytest.mark.parametrize("video, floor, switches", [("basketball_240p.mp4", 0.86, 3),
                                                    ("armwrestling_truncated.mp4", 0.40, 3)])
def test_people_of_small_videos_are_found_against_a_reference_pass(video, floor, switches, reference_detector,
                                                                   tmp_path):
    """Low-resolution clips: people 60-170 pixels tall, found with MoveNet's input enlarged beyond the image."""
    out = tmp_path / "run.jsonl"
    done = run_livecap("process", str(media(f"video/{video}")), "--out", str(out))
    assert done.returncode == 0, done.stderr
    _, frames = read_jsonl(out)
    figures = recall(media(f"video/{video}"), frames, reference_detector)
    assert figures.recall >= floor, figures
    assert figures.id_switches <= switches, figures
    assert consistency(frames) >= 0.99


def test_people_the_landmark_model_cannot_see_are_found_by_the_second_model_where_it_sees_the_same_body(
        reference_detector):
    """armwrestling's bystanders, small and half hidden: cropped from the reference's own keypoints, BlazePose full
    finds 0.53 of them and lite 0.67 (`eval_people.py ceiling`). Where full finds no one in a crop, balanced asks
    lite, and keeps what lite finds only where it is the body the crop was cut for (the detection's pose, or the
    track's last). Measured on the first 140 frames: recall 0.39 with full alone, 0.47 with lite second; records
    stay one body each."""
    video = media("video/armwrestling_truncated.mp4")
    images = br.read_video(video, 140)
    settings = PipelineSettings()
    models = PipelineModels.load(settings)
    assert models.second_landmarker is not None

    def run(models: PipelineModels) -> list[dict]:
        pipeline = build_pipeline(settings, images[0].shape[1], images[0].shape[0], models=models)
        return [frame_record(pipeline.process(Frame(i, i / 28.0, image, 0.0))) for i, image in enumerate(images)]

    with_second, full_alone = run(models), run(replace(models, second_landmarker=None))
    assert recall(video, seen_only(with_second), reference_detector).recall >= \
        recall(video, seen_only(full_alone), reference_detector).recall + 0.05
    assert consistency(with_second) >= 0.99
