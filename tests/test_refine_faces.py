"""Faces through refined takes (issues 26 and 27): two_people with faces on, one pass of the live pipeline giving
the live output and the take, which is refined. The refined take finds the same faces on the same frames as live,
its expressions are live's but for the neutral face (the whole take's) and the smoothing (forward-backward), its
head turns as the mesh does, and a stitched person keeps their face. `livecap process --face` refining, its header
and BVH: tests/test_faces.py."""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from conftest import MEDIA, TWO_PEOPLE
from eval_face_turn import yaw_degrees
from livecap.pose.expressions import NAMES, TYPICAL_NEUTRAL, M, expressions, measure
from livecap.pose.head import EASE_IN_S, HEAD, mesh_head
from livecap.pose.pipeline import PipelineModels, build_pipeline
from livecap.refine import TakeRecorder, refine
from livecap.pose.neutral import pose_neutral
from livecap.refine.stitch import stitch
from livecap.settings import PipelineSettings
from livecap.skeleton import world_rotations
from livecap.sources import open_file
from livecap.types import Frame


SETTINGS = PipelineSettings(face=True)


@pytest.fixture(scope="module")
def models() -> PipelineModels:
    return PipelineModels.load(SETTINGS)


@pytest.fixture(scope="module")
def face_pass(models):
    """The live results (per frame: {id: person}) and the take of one pass over two_people with faces on."""
    source = open_file(str(TWO_PEOPLE))
    pipeline = build_pipeline(SETTINGS, source.mode.width, source.mode.height, models=models)
    recorder = TakeRecorder()
    recorder.start(pipeline.stream_info(str(TWO_PEOPLE), source.mode.width, source.mode.height, source.mode.fps))
    live = []
    try:
        for frame in source:
            result = pipeline.process(frame)
            recorder.write(result)
            live.append({p.id: p for p in result.people if not p.predicted})
    finally:
        source.close()
    refined = refine(recorder.take)
    return SimpleNamespace(live=live, take=recorder.take, refined=refined,
                           frames=[{p.id: p for p in r.people} for r in refined.results()])


def test_the_refined_take_finds_the_faces_live_finds_on_the_same_frames(face_pass):
    """Perception is the same pass: every person-frame seen has the same face found or not (64 of 144 found:
    test_faces), its points the mesh model's own where live's are One-Euro filtered (measured 0.56 px apart on
    average, 1.9 at most, over 478 points)."""
    found = 0
    for live, refined in zip(face_pass.live, face_pass.frames):
        assert set(live) == set(refined)
        for person_id, person in refined.items():
            assert person.face_tracked and not person.interpolated
            assert (person.face is None) == (live[person_id].face is None)
            if person.face is not None:
                found += 1
                assert person.face.landmarks2d.shape == (478, 3) and set(person.face.expressions) == set(NAMES)
                gap = np.abs(person.face.landmarks2d[:, :2] - live[person_id].face.landmarks2d[:, :2]).mean()
                assert gap < 1.5
    assert found >= 56


def test_expressions_are_lives_read_from_the_whole_takes_neutral_face(face_pass):
    """Read against the same neutral face (the refined person's, learned over the whole take), live's meshes give
    the refined expressions within 0.02 on average and 0.08 at the worst frame (measured 0.005 and 0.054): what is
    left is the smoothing, One-Euro on live's mesh against forward-backward on the refined measures. Live's own
    values differ more where it has not learned a neutral yet: its first NEUTRAL_SECONDS are read against the
    median of what it has seen of the person so far."""
    neutral = {track.id: track.face.neutral for track in face_pass.refined.tracks}
    gaps = []
    for live, refined in zip(face_pass.live, face_pass.frames):
        for person_id, person in refined.items():
            if person.face is None:
                continue
            theirs = live[person_id].face
            again = expressions(measure(theirs.landmarks2d, theirs.rotation, theirs.iris),
                                neutral[person_id].at(theirs.rotation))
            gaps.append([abs(person.face.expressions[name] - again[name]) for name in NAMES])
    gaps = np.array(gaps)
    print(f"expressions against live's with one neutral: mean {gaps.mean():.3f}, worst frame "
          f"{gaps.mean(axis=1).max():.3f}")
    assert gaps.mean() <= 0.02 and gaps.mean(axis=1).max() <= 0.08


def test_a_head_turned_aside_does_not_read_as_raised_brows(face_pass):
    """two_people's men keep a steady face as they turn to each other: the larger of Surprised and browInnerUp
    (refined, the whole take's neutral) averages within 0.15 over the faces turned 30-60 degrees (the published
    rotation's yaw) of its average over those turned under 30. Measured: 0.01 over 30 faces turned 30-60, 0.06 over
    21 under 30 (tools/eval_face_turn.py). Heights taken over the image's eye-corner distance, which a turn
    shortens and the heights not, read 0.33 against 0.00; 0.15 is under half that and three times what is left."""
    raised: dict[str, list[float]] = {"under 30": [], "30-60": []}
    for frame in face_pass.frames:
        for person in frame.values():
            if person.face is None:
                continue
            yaw = abs(yaw_degrees(person.face.rotation))
            bucket = "under 30" if yaw < 30 else "30-60" if yaw < 60 else None
            if bucket is not None:
                values = person.face.expressions
                raised[bucket].append(max(values["Surprised"], values["browInnerUp"]))
    means = {bucket: float(np.mean(values)) for bucket, values in raised.items()}
    print("Surprised or browInnerUp by yaw:", {k: (round(v, 3), len(raised[k])) for k, v in means.items()})
    assert min(len(v) for v in raised.values()) >= 15
    assert abs(means["30-60"] - means["under 30"]) <= 0.15


def test_no_expression_follows_the_head_as_it_turns(face_pass):
    """two_people's man on the right faces the camera at rest, then turns 45-56 degrees still at rest: each
    person's neutral face follows their head's pose (livecap.pose.neutral), so no expression of anyone seen both
    ways (10 faces or more under 30 degrees of yaw and at 30-60) averages 0.3 more turned than facing the camera,
    live or refined. Measured (tools/eval_face_turn.py): at most 0.10 live (eyeWideRight), 0.18 refined; against a
    constant neutral browDownRight 0.77 and 0.78, eyeWideRight 0.73 and 0.68. 0.3 is under half of that and
    about twice what is left."""
    for name, frames in (("live", face_pass.live), ("refined", face_pass.frames)):
        values: dict[int, dict[str, list[np.ndarray]]] = {}
        for frame in frames:
            for person in frame.values():
                yaw = abs(yaw_degrees(person.face.rotation)) if person.face is not None else 90.0
                if yaw < 60:
                    values.setdefault(person.id, {"under 30": [], "30-60": []})[
                        "under 30" if yaw < 30 else "30-60"].append([person.face.expressions[n] for n in NAMES])
        seen = {pid: b for pid, b in values.items() if min(len(v) for v in b.values()) >= 10}
        assert seen, name
        for person_id, buckets in seen.items():
            gap = np.mean(buckets["30-60"], axis=0) - np.mean(buckets["under 30"], axis=0)
            print(f"{name}, person {person_id}: most turned {NAMES[int(np.argmax(gap))]} +{gap.max():.2f}")
            assert gap.max() <= 0.3, (name, person_id, NAMES[int(np.argmax(gap))])


def test_live_reads_a_person_seen_briefly_against_their_own_face(face_pass):
    """two_people's men are seen for about NEUTRAL_SECONDS each, so live learns their neutral faces only at the
    end; until then it reads them against the median of what it has seen of them (the typical face one more
    sample). Their brows sit higher at rest than the typical face's (0.20-0.25 against 0.145): facing the camera
    (yaw under 30 degrees) the larger of Surprised and browInnerUp averages at most 0.2 live, as refined (the
    whole take's neutral) within 0.1, and the blinks at most 0.2. Measured (tools/eval_face_turn.py): 0.06 live,
    0.06 refined, blinks 0.09 live, over 21 faces; read against the typical face alone until the neutral was
    learned, 0.90 and blinks 0.25."""
    raised, blinks, refined = [], [], []
    for live, frame in zip(face_pass.live, face_pass.frames):
        for person in live.values():
            if person.face is not None and abs(yaw_degrees(person.face.rotation)) < 30:
                values = person.face.expressions
                raised.append(max(values["Surprised"], values["browInnerUp"]))
                blinks.append((values["Blink_L"] + values["Blink_R"]) / 2)
        for person in frame.values():
            if person.face is not None and abs(yaw_degrees(person.face.rotation)) < 30:
                refined.append(max(person.face.expressions["Surprised"], person.face.expressions["browInnerUp"]))
    print(f"facing the camera, {len(raised)} faces: Surprised or browInnerUp live {np.mean(raised):.3f}, refined "
          f"{np.mean(refined):.3f}; blinks live {np.mean(blinks):.3f}")
    assert len(raised) >= 15
    assert np.mean(raised) <= 0.2 and abs(np.mean(raised) - np.mean(refined)) <= 0.1 and np.mean(blinks) <= 0.2


def test_the_head_turns_as_the_smoothed_mesh_and_stays_near_lives(face_pass):
    """Where the face has been seen for the ease-in time, the refined Head is the mesh's (as live,
    test_face_head); the mesh's rotation is live's but for the smoothing (measured 1.6 degrees apart on average,
    5.9 at most)."""
    followed, apart = 0, []
    for person_id in {p for frame in face_pass.frames for p in frame}:
        since = None
        for k, (live, refined) in enumerate(zip(face_pass.live, face_pass.frames)):
            person = refined.get(person_id)
            if person is None or person.face is None:
                since = None
                continue
            time_s = face_pass.take.frames.time[k]
            since = time_s if since is None else since
            mesh = mesh_head(person.face.rotation)
            if time_s - since >= EASE_IN_S:
                head = world_rotations(np.asarray(person.skeleton.rotations, np.float64))[HEAD]
                assert np.degrees(Rotation.from_matrix(head.T @ mesh).magnitude()) < 0.5
                followed += 1
            theirs = mesh_head(live[person_id].face.rotation)
            apart.append(np.degrees(Rotation.from_matrix(theirs.T @ mesh).magnitude()))
    assert followed >= 30 and np.mean(apart) <= 3.0 and max(apart) <= 10.0


def test_a_stitched_person_keeps_their_face_and_one_neutral(face_pass):
    """Person 1 (whose face is seen until he turns, frame 38) lost for a third of a second and found again under a
    new id: stitched back with his faces on both sides, none in the filled frames, expressions from one neutral."""
    take = face_pass.take
    rows = take.rows()
    frames = rows["frame"]
    lost = (rows["track"] == 1) & (frames >= 20) & (frames < 30)
    rows["track"][(rows["track"] == 1) & (frames >= 30)] = 9
    cut = take.like()
    cut.extend(rows[~lost])
    assert [p.tracks for p in stitch(cut)] == [[1, 9], [2]]
    refined = refine(cut)
    first = [{p.id: p for p in r.people}[1] for r in refined.results()]
    whole = [frame[1] for frame in face_pass.frames]
    assert all(p.interpolated and p.face is None and p.face_tracked for p in first[20:30])
    for k in [*range(20), *range(30, 72)]:
        assert (first[k].face is None) == (whole[k].face is None)
    assert all(p.face is not None for p in first[30:38])
    assert [track.id for track in refined.tracks] == [1, 2]  # one face track, so one neutral, per person


def test_a_face_seen_without_a_body_is_published_as_live(models):
    """A 300-W close-up (no body in view, BlazeFace finds the face) in a refined take: a person of their own after
    the bodies, with their face only and no skeleton, as live publishes it."""
    image = cv2.imread(str(MEDIA / "images" / "faces" / "300w" / "indoor_020.png"))
    pipeline = build_pipeline(SETTINGS, image.shape[1], image.shape[0], models=models)
    recorder = TakeRecorder()
    recorder.start(pipeline.stream_info("close_up", image.shape[1], image.shape[0], 30.0))
    live = [pipeline.process(Frame(k, k / 30.0, image, 0.0)) for k in range(3)]
    for result in live:
        recorder.write(result)
    refined = refine(recorder.take)
    assert not refined.people and refined.people_seen == 1
    for before, after in zip(live, refined.results()):
        (theirs,), (person,) = before.people, after.people
        assert person.skeleton is None and person.face is not None and theirs.face is not None
        assert np.abs(person.face.landmarks2d - theirs.face.landmarks2d).max() < 1.0


def test_a_neutral_learned_over_a_take_facing_one_way_is_its_median():
    """With the head's pose never changing every frame's measures count alike (live: the first NEUTRAL_SECONDS'):
    no slope can be learned, the neutral is the median; a measure never taken (the gaze without the iris model)
    keeps the typical face's."""
    measures = np.tile(TYPICAL_NEUTRAL, (5, 1))
    measures[:, M["eye_open_left"]] = [0.2, 0.1, 0.3, 0.25, 0.05]  # a blink in the middle
    measures[:, M["gaze_x"]] = np.nan
    neutral = pose_neutral(measures, np.tile(np.eye(3), (5, 1, 1))).at(np.eye(3))
    assert neutral[M["eye_open_left"]] == 0.2 and neutral[M["gaze_x"]] == TYPICAL_NEUTRAL[M["gaze_x"]]


def test_a_take_with_faces_spilled_to_files_refines_the_same(face_pass):
    take = face_pass.take
    small = take.like(memory_limit=0, block_rows=16)
    small.extend(take.rows())
    assert small.spilled and small.nbytes_in_memory == 0 and small.rows().tobytes() == take.rows().tobytes()
    for frame, again in zip(face_pass.frames, refine(small).results()):
        for person in again.people:
            face = frame[person.id].face
            assert (person.face is None) == (face is None)
            assert face is None or (np.array_equal(person.face.landmarks2d, face.landmarks2d)
                                    and person.face.expressions == face.expressions)
    small.close()
