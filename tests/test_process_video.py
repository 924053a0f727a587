"""`livecap process` on real video and image folders: the results format, and people tracked with stable ids."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import TWO_PEOPLE, media, read_jsonl, run_livecap
from livecap.sinks.jsonl import JsonlWriter
from livecap.skeleton import JOINTS, PARENTS


def test_header_describes_source_camera_and_skeleton(two_people_results):
    header, frames = two_people_results
    assert header["livecap"]
    assert (header["width"], header["height"]) == (1920, 1080)
    # the nominal rate as OpenCV reads the container: its average, 28.05 (4.9 and later), or its base rate, 30 (4.8)
    assert min(abs(header["fps"] - 28.05), abs(header["fps"] - 30.0)) < 0.1
    assert {"fx", "fy", "cx", "cy"} <= set(header["camera"])
    assert header["camera"]["origin"] == "fov 60"
    assert header["settings"] == {"smoothing": 0.5, "height": None}
    assert header["camera"]["cx"] == 960.0
    assert header["skeleton"] == {"joints": list(JOINTS), "parents": list(PARENTS)}
    assert header["landmarks"] == "blazepose33"
    assert len(frames) == 72


def test_every_frame_line_has_the_documented_fields(two_people_results):
    _, frames = two_people_results
    steps = np.diff([frame["time"] for frame in frames])  # the frames' own timestamps: 33.3 ms apart, but for
    assert frames[0]["time"] == 0.0 and np.argmax(steps) == 66 and steps.max() == pytest.approx(0.2)  # one gap
    assert np.delete(steps, 66) == pytest.approx(np.full(70, 1 / 30), abs=1e-4)
    for i, frame in enumerate(frames):
        assert frame["frame"] == i
        for person in frame["people"]:
            assert {"id", "score", "bbox", "coco17", "landmarks2d", "world33"} <= set(person)
            assert np.shape(person["coco17"]) == (17, 3)
            assert np.shape(person["landmarks2d"]) == (33, 3)
            assert np.shape(person["world33"]) == (33, 3)
            assert 0 <= person["score"] <= 1


def test_points_and_scores_are_written_to_their_places_without_float_noise(two_people_results):
    _, frames = two_people_results
    points = [point for frame in frames for person in frame["people"]
              for point in person["coco17"] + person["landmarks2d"]]
    assert points and all(round(x, 2) == x and round(y, 2) == y and round(score, 3) == score
                          for x, y, score in points)  # 0.563, never 0.5630000233650208
    assert all(round(person["score"], 3) == person["score"] for frame in frames for person in frame["people"])


def test_two_people_keep_their_two_ids_through_the_clip(two_people_results):
    _, frames = two_people_results
    ids = [sorted(p["id"] for p in f["people"]) for f in frames]
    assert all(frame_ids == [1, 2] for frame_ids in ids)


def test_keypoints_are_plausible_bodies(two_people_results):
    """Head above hips above ankles, a standing adult's proportions, inside the image."""
    _, frames = two_people_results
    for frame in frames:
        for person in frame["people"]:
            k = np.array(person["coco17"])
            nose_y, hip_y, ankle_y = k[0, 1], k[11:13, 1].mean(), k[15:17, 1].mean()
            assert nose_y < hip_y < ankle_y
            height = ankle_y - nose_y
            assert 350 < height < 900  # pixels, for these people in this 1080p clip
            assert (k[:, 0] > 0).all() and (k[:, 0] < 1920).all()
            world = np.array(person["world33"])
            body_m = world[[27, 28], 1].mean() - world[0, 1]  # y down: ankles minus nose
            assert 1.1 < body_m < 2.0  # the person behind leans into the hug: 1.19 m nose to ankles at the least


def test_pedestrian_ids_stay_on_the_same_person(vtest_results):
    """On vtest.avi an id never jumps to another pedestrian: per-frame motion stays a fraction of a body."""
    _, frames = vtest_results
    previous: dict[int, tuple[np.ndarray, float]] = {}
    moves, lifetimes = [], {}
    for frame in frames:
        current = {}
        for person in frame["people"]:
            box = np.array(person["bbox"])
            centre, height = (box[:2] + box[2:]) / 2, max(box[3] - box[1], 1.0)
            current[person["id"]] = (centre, height)
            lifetimes[person["id"]] = lifetimes.get(person["id"], 0) + 1
            if person["id"] in previous:  # in bodies: the taller of the two boxes (legs may drop out of one)
                before, height_before = previous[person["id"]]
                moves.append(np.linalg.norm(centre - before) / max(height, height_before))
        previous = current
    assert np.percentile(moves, 99) < 0.25
    assert max(moves) < 0.6
    long_tracks = [n for n in lifetimes.values() if n >= 100]
    assert len(long_tracks) >= 3  # pedestrians crossing the square are followed for 10 s and more
    assert np.mean([len(f["people"]) for f in frames]) >= 2.5


def test_jsonl_writer_writes_whole_lines(tmp_path):
    with JsonlWriter(tmp_path / "r.jsonl", {"livecap": "x"}) as writer:
        writer.write({"frame": 0, "people": []})
    lines = (tmp_path / "r.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{"livecap": "x"}, {"frame": 0, "people": []}]


@pytest.fixture
def two_copies(tmp_path):
    folder = tmp_path / "seq"
    folder.mkdir()
    for name in ("000.jpg", "001.jpg"):
        shutil.copy(media("images/ochuman/000817.jpg"), folder / name)
    return folder


def test_a_folder_is_a_sequence_and_stills_treats_each_image_alone(two_copies, tmp_path):
    sequence, stills = tmp_path / "sequence.jsonl", tmp_path / "stills.jsonl"
    assert run_livecap("process", str(two_copies), "--out", str(sequence)).returncode == 0
    assert run_livecap("process", str(two_copies), "--stills", "--out", str(stills)).returncode == 0
    _, seq_frames = read_jsonl(sequence)
    _, still_frames = read_jsonl(stills)
    assert [f["image"] for f in seq_frames] == ["000.jpg", "001.jpg"]
    seq_ids = [{p["id"] for p in f["people"]} for f in seq_frames]
    still_ids = [{p["id"] for p in f["people"]} for f in still_frames]
    assert seq_ids[0] == seq_ids[1] and len(seq_ids[0]) >= 2  # same people carried over
    assert len(still_ids[0]) == len(still_ids[1]) >= 2 and not still_ids[0] & still_ids[1]  # found anew


def test_max_frames_stops_early(tmp_path):
    out = tmp_path / "o.jsonl"
    done = run_livecap("process", str(TWO_PEOPLE), "--out", str(out), "--max-frames", "5")
    assert done.returncode == 0 and "processed 5 frames, 2 people" in done.stdout
    assert len(read_jsonl(out)[1]) == 5
