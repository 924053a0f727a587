"""`livecap process` on real video: the results format, and people tracked with stable ids."""

from __future__ import annotations

import numpy as np
import pytest

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
