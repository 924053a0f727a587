"""Hands and fingers for every person (issue 16): the hand landmark model on the dev hand images with crops placed as
at run time, `livecap process --hands` on real video (both hands of each person, the JSONL fields, hands at the
body's wrists, null when a wrist is out of view), the finger fit, and every output: BVH with the finger joints read
back by Blender, VMC finger bones, plain OSC points, the desktop app's drawing helpers."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bvh_support import blender_pose, y_up_to_blender
from conftest import MEDIA, TWO_PEOPLE, assert_switch_from_flag_and_config, read_jsonl, run_livecap
from eval_hands import SETS, evaluate_run_time, load_set
from livecap import fingers, skeleton
from livecap.models.catalog import ModelCatalog
from livecap.models.runtime import OnnxModel
from livecap.pose.fitting.fingers import LIMITS, fit_fingers, hand_rotation, measure_hand
from livecap.pose.hands import HandSettings
from livecap.pose.pipeline import build_pipeline
from livecap.settings import PipelineSettings
from livecap.sinks.bvh.format import world_positions
from livecap.sinks.bvh.reader import read
from livecap.sinks.jsonl import person_record
from livecap.sinks.osc.plain import PlainEncoder
from livecap.sinks.osc.vmc import VmcEncoder
from livecap.sinks.replay import person_from_record
from livecap.types import Frame, FrameResult

VIDEO = TWO_PEOPLE  # 72 frames, two people shaking hands, one holding a hat
FPS = 28.05  # its frame rate
WRIST_VISIBLE = 0.9  # BlazePose visibility at which a wrist counts as plainly in view


# ---------------------------------------------------------------- the model on the dev hand images -----------------

# PCK@0.2 of the hand box, crops placed as at run time from the ground truth's points: "body" as the pose's wrist,
# index and pinky landmarks would place it (BlazePose puts those between the knuckle and the next joint), "own" as
# the previous frame's hand landmarks would. Hands whose points for a crop are unlabelled are left out.
PCK_FLOORS = {  # measured: lite body .899 / 1.000 / .984, own .893 / 1.000 / 1.000; full body .917 / 1 / 1, own .905
    ("hand_landmark_lite", "body"): {"freihand": 0.88, "onehand10k": 0.95, "rhd": 0.95},
    ("hand_landmark_lite", "own"): {"freihand": 0.87, "onehand10k": 0.95, "rhd": 0.95},
    ("hand_landmark_full", "body"): {"freihand": 0.90, "onehand10k": 0.95, "rhd": 0.95},
    ("hand_landmark_full", "own"): {"freihand": 0.88, "onehand10k": 0.95, "rhd": 0.95},
}


@pytest.mark.parametrize("model_name", ["hand_landmark_lite", "hand_landmark_full"])
def test_hand_landmarks_from_run_time_crops_meet_the_pck_floors(model_name):
    folder = MEDIA / "images" / "hands"
    model = OnnxModel(ModelCatalog().require(model_name).path)
    for name in SETS:
        for kind, (score, labelled) in evaluate_run_time(model, load_set(folder / name, name)).items():
            print(f"{model_name} {kind} crops on {name}: PCK@0.2 {score:.3f} ({labelled} points)")
            assert labelled > 0 and score >= PCK_FLOORS[(model_name, kind)][name], (kind, name)


# ---------------------------------------------------------------- a real run -----------------------------------------

@pytest.fixture(scope="module")
def hands_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hands")
    done = run_livecap("process", str(VIDEO), "--out", str(folder / "two.jsonl"), "--hands", "--no-progress",
                       "--bvh", str(folder / "takes"), "--bvh-take", "two", "--bvh-units", "m")
    assert done.returncode == 0, done.stderr
    header, frames = read_jsonl(folder / "two.jsonl")
    return header, frames, folder / "takes"


def test_results_give_every_person_both_hand_slots_with_21_points_and_15_finger_rotations(hands_run):
    header, frames, _ = hands_run
    assert header["settings"]["hands"] is True
    assert header["skeleton"]["joints"] == list(skeleton.JOINTS)  # the body's 21 joints, as before
    assert header["skeleton"]["finger_bones"][:3] == ["LeftThumbProximal", "LeftThumbIntermediate", "LeftThumbDistal"]
    assert len(header["skeleton"]["finger_bones"]) == 30 and header["skeleton"]["hand_points"][0] == "wrist"
    found = 0
    for frame in frames:
        for person in frame["people"]:
            assert set(person["hands"]) == {"left", "right"} == set(person["fingers"])
            assert len(person["joints3d"]) == len(person["rotations"]) == 21
            for side, hand in person["hands"].items():
                if hand is None:
                    assert person["fingers"][side] is None
                    continue
                found += 1
                assert 0 < hand["score"] <= 1
                assert np.array(hand["landmarks2d"]).shape == (21, 3) and np.array(hand["world"]).shape == (21, 3)
                quats = np.array(person["fingers"][side])
                assert quats.shape == (15, 4) and np.allclose(np.linalg.norm(quats, axis=1), 1, atol=1e-4)
    # measured 87 of the 2 x 2 x 72 slots (98 before issue 13's tracking; the person behind has his left hand in 3
    # frames instead of 17: where looked at, frame 60, that "hand" was the front person's, on his back)
    assert found >= 84


def test_a_results_file_replays_with_its_hands(hands_run):
    from livecap.sinks.replay import frame_from_record

    _, frames, _ = hands_run
    record = next(p for f in frames for p in f["people"] if p["hands"]["left"] is not None)
    person = frame_from_record({"frame": 0, "time": 0.0, "people": [record]}).people[0]
    assert np.allclose(person.hands["left"].world, record["hands"]["left"]["world"])
    assert person.hands["left"].rotations.shape == (15, 4)
    assert (person.hands["right"] is None) == (record["hands"]["right"] is None)


def test_each_hand_hangs_at_its_own_wrist_of_the_body(hands_run):
    """In 3D every hand is attached at its body's wrist; in the image its wrist point lies within 1.5 hand sizes of
    the body's, but for at most one hand of the run: since this session's tracking changes the person behind, in the
    embrace (frame 64), has his hidden left hand found 1.5 hand sizes (50 px) away, a hand of the other man's
    (open in issue 16), and that one is still bounded at 2."""
    _, frames, _ = hands_run
    far = 0
    for frame in frames:
        for person in frame["people"]:
            joints = np.array(person["joints3d"])
            for side, hand in person["hands"].items():
                if hand is None:
                    continue
                wrist = joints[skeleton.J[f"{fingers.SIDE_NAMES[side]}Hand"]]
                assert np.allclose(hand["world"][0], wrist, atol=2e-4)  # metres, as rounded in the file
                image_wrist = person["landmarks2d"][15 if side == "left" else 16][:2]
                hand_size = np.ptp(np.array(hand["landmarks2d"])[:, :2], axis=0).max()
                gap = np.linalg.norm(np.subtract(hand["landmarks2d"][0][:2], image_wrist))
                assert gap < 2.0 * hand_size, (frame["frame"], person["id"], side)
                far += gap >= 1.5 * hand_size
    assert far <= 1


def test_each_person_has_both_hands_where_both_wrists_are_plainly_visible(hands_run):
    """Frames where BlazePose sees both wrists of a person with visibility >= 0.9. On two_people that is the man in
    the dark jacket's first second (23 frames); the other man's left hand is behind the hat throughout, and no
    frame of his has both wrists at that visibility. Measured with the lite model: 15 of 23 frames (0.65); his
    right hand is then seen edge-on pinching the hat's brim, which the model does not find (presence under 0.2 in
    the body's crop and in the one from his hand's last landmarks; no steady crop size, shift or turn finds it).
    With the full model (accurate): 16 of 23 (0.70). MediaPipe Holistic 0.10.14 (full hand model and its own
    re-crop model), run on this man alone, has both his hands in 17 of these 23 frames (0.74) and misses that
    hand in frames 15 and 18-23 too."""
    _, frames, _ = hands_run
    both, visible = {}, {}
    for frame in frames:
        for person in frame["people"]:
            points = np.array(person["landmarks2d"])
            if min(points[15, 2], points[16, 2]) >= WRIST_VISIBLE:
                visible[person["id"]] = visible.get(person["id"], 0) + 1
                found = all(hand is not None for hand in person["hands"].values())
                both[person["id"]] = both.get(person["id"], 0) + found
    print({pid: f"{both[pid]}/{count}" for pid, count in visible.items()})
    assert sum(visible.values()) >= 20
    for pid, count in visible.items():
        assert both[pid] / count >= 0.6, (pid, both[pid], count)


def test_hands_of_wrists_out_of_view_are_null():
    """The frame cut off above the hips: the men's wrists hang below it, so none of their hands is looked for."""
    capture = cv2.VideoCapture(str(VIDEO))
    ok, image = capture.read()
    assert ok
    top = np.ascontiguousarray(image[:540])
    pipeline = build_pipeline(PipelineSettings(hands=True), top.shape[1], top.shape[0], stills=True)
    result = pipeline.process(Frame(0, 0.0, top, 0.0))
    assert result.people
    for person in result.people:
        wrists = person.landmarks2d[[15, 16]]
        assert ((wrists[:, 1] >= top.shape[0]) | (wrists[:, 2] < 0.5)).all()
        assert person.hands == {"left": None, "right": None}
        assert person.world.fingers.present == {"left": False, "right": False}


# ---------------------------------------------------------------- the finger fit -----------------------------------

@pytest.fixture(scope="module")
def fitted_people():
    """(person, frame) pairs of an in-process run over the whole video, hands on."""
    capture = cv2.VideoCapture(str(VIDEO))
    pipeline = build_pipeline(PipelineSettings(hands=True), 1920, 1080)
    out = []
    for index in range(72):
        ok, image = capture.read()
        assert ok
        out += [(person, index) for person in pipeline.process(Frame(index, index / FPS, image, 0.0)).people]
    return out


def found_hands(fitted_people):
    """(person, frame index, side, hand, that hand's rows in the finger arrays) for every hand found."""
    for person, index in fitted_people:
        for k, side in enumerate(fingers.SIDES):
            hand = person.hands[side]
            if hand is not None:
                yield person, index, side, hand, slice(k * fingers.BONES_PER_HAND, (k + 1) * fingers.BONES_PER_HAND)


def test_fitted_finger_joints_follow_the_hand_points(fitted_people):
    errors = []
    for person, _, _, hand, rows in found_hands(fitted_people):
        errors.append(np.linalg.norm(person.skeleton.fingers.positions[rows] - hand.world[fingers.BONE_START],
                                     axis=1))
    errors = np.concatenate(errors) * 1000
    print(f"finger joints from the hand points: median {np.median(errors):.1f} mm, p90 "
          f"{np.percentile(errors, 90):.1f} mm over {len(errors)} joints")  # measured 7.4 / 23.0
    assert np.median(errors) < 12 and np.percentile(errors, 90) < 35


def test_finger_bones_are_frozen_and_their_angles_within_the_limits(fitted_people):
    offsets = {}
    for person, _, side, hand, rows in found_hands(fitted_people):
        offsets.setdefault((person.id, side), []).append(person.skeleton.fingers.offsets[rows])
        _, angles = fit_fingers(hand.world.astype(np.float64), hand_rotation(hand.world, side), side)
        assert (angles[:, 0] >= LIMITS[:, 0, 0] - 1e-9).all() and (angles[:, 0] <= LIMITS[:, 0, 1] + 1e-9).all()
        assert (angles[:, 1] >= LIMITS[:, 1, 0] - 1e-9).all() and (angles[:, 1] <= LIMITS[:, 1, 1] + 1e-9).all()
        # the hand's own rotation is measured: the skeleton's hand is turned as the hand points say
        quat = person.skeleton.rotations[skeleton.J[f"{fingers.SIDE_NAMES[side]}Hand"]]
        assert Rotation.from_quat(quat).magnitude() > 1e-3
    frozen = [np.ptp(np.array(seen[skeleton.BONE_FRAMES:]), axis=0).max() for seen in offsets.values()
              if len(seen) > skeleton.BONE_FRAMES]
    assert frozen and max(frozen) == 0.0


def test_the_world_pose_with_hands_is_the_one_built_from_the_fit(fitted_people):
    for person, _ in fitted_people[::7]:
        rebuilt = skeleton.world_pose(person.skeleton)
        assert np.allclose(person.world.positions, rebuilt.positions)
        assert np.allclose(np.abs(np.sum(person.world.world * rebuilt.world, axis=1)), 1.0, atol=1e-6)
        assert np.allclose(np.abs(np.sum(person.world.local * rebuilt.local, axis=1)), 1.0, atol=1e-6)
        assert np.allclose(person.world.fingers.world, rebuilt.fingers.world)
        assert np.array_equal(np.isnan(person.world.fingers.positions), np.isnan(rebuilt.fingers.positions))


def test_a_reader_rebuilds_every_finger_joint_from_the_results_within_a_millimetre(fitted_people):
    """Each person's record lists every measured hand's finger bone lengths and rest offsets (frozen after a
    second, as the body's bones) next to the finger rotations: the fingers rebuilt from the record below the body's
    hand joints (livecap.sinks.replay) lie where the run put them."""
    errors = []
    for person, _ in fitted_people:
        record = json.loads(json.dumps(person_record(person)))
        rebuilt, fitted = person_from_record(record).skeleton.fingers, person.skeleton.fingers
        for k, side in enumerate(fingers.SIDES):
            lengths, offsets = record["finger_bone_lengths"][side], record["finger_offsets"][side]
            assert (lengths is None) == (offsets is None)
            if record["fingers"][side] is None:
                continue
            assert np.shape(lengths) == (15,) and np.shape(offsets) == (15, 3)
            rows, tips = slice(15 * k, 15 * k + 15), slice(5 * k, 5 * k + 5)
            errors += [np.linalg.norm(rebuilt.positions[rows] - fitted.positions[rows], axis=1),
                       np.linalg.norm(rebuilt.tips[tips] - fitted.tips[tips], axis=1)]
    errors = np.concatenate(errors) * 1000
    print(f"finger joints rebuilt from the records: max {errors.max():.3f} mm over {len(errors)} joints")
    assert len(errors) > 1000 and errors.max() < 1.0


def test_a_lost_hand_holds_its_pose_and_relaxes_to_rest_without_snapping(fitted_people, hands_run):
    """A hand that is lost (the man in the dark jacket's right hand from frame 15 on, pinching the hat's brim
    edge-on) keeps its last rotation and finger pose and turns back to rest at no more than relax_speed (before, it
    snapped to rest: 50 degrees in one frame), in the pipeline's skeleton and in the BVH file."""
    speed, last, held = HandSettings().relax_speed, {}, 0
    for person, index in fitted_people:
        for k, side in enumerate(fingers.SIDES):
            hand = skeleton.J[f"{fingers.SIDE_NAMES[side]}Hand"]
            rotations = Rotation.from_quat(np.vstack([person.skeleton.rotations[hand],
                                                      person.skeleton.fingers.local[15 * k:15 * k + 15]]))
            before = last.get((person.id, side))
            if person.hands[side] is None and before is not None:
                turned = (rotations * before[0].inv()).magnitude().max()
                assert turned <= speed * (index - before[1]) / FPS + 1e-4, (person.id, side, index, turned)
                held += turned > 0
            last[(person.id, side)] = rotations, index
    assert held >= 10 and last[(1, "right")][0].magnitude().max() < 1e-3  # it arrived at rest
    _, frames, takes = hands_run
    lost = next(f["time"] for f in frames[1:] for p in f["people"] if p["id"] == 1 and p["hands"]["right"] is None)
    bvh, sidecar = read(takes / "two_person1.bvh"), json.loads((takes / "two_person1.bvh.json").read_text())
    start = int(np.ceil((lost - sidecar["start_time"]) / bvh.frame_time))
    names = ["RightHand"] + [name for name in skeleton.FINGER_JOINTS if name.startswith("Right")]
    steps, angles = [], []
    for name in names:
        joint = bvh.joints[bvh.index(name)]
        columns = [joint.first_channel + joint.channels.index(f"{axis}rotation") for axis in joint.rotation_order]
        rotation = Rotation.from_euler(joint.rotation_order, bvh.motion[start - 1:, columns], degrees=True)
        steps.append(np.degrees((rotation[1:] * rotation[:-1].inv()).magnitude()))
        angles.append(np.degrees(rotation[-1].magnitude()))
    print(f"BVH from the loss at {lost:.2f} s: largest step {np.max(steps):.1f} degrees a frame")
    assert np.max(steps) < np.degrees(speed * bvh.frame_time) + 1.0 and np.max(angles) < 0.1


def test_a_hand_posed_within_the_limits_is_fitted_back_to_the_same_angles():
    """Synthetic left and right hands posed from known curls and spreads (spread about the palm's normal, then curl
    about the finger's hinge): the fit finds the hand's rotation, its shape and every angle."""
    rng = np.random.default_rng(3)
    bases, lengths = fingers.TYPICAL_BASES, fingers.TYPICAL_LENGTHS
    for side in fingers.SIDES:
        curl = rng.uniform(LIMITS[:, 0, 0] + 0.05, LIMITS[:, 0, 1] - 0.05)
        spread = rng.uniform(-1.0, 1.0, len(LIMITS)) * (LIMITS[:, 1, 1] - 0.05).clip(0.0)  # the ranges are symmetric
        flip = fingers.MIRROR if side == "right" else np.eye(3)
        local = np.array([flip @ Rotation.from_rotvec(fingers.CURL_DIRECTION[b] * spread[b]).as_matrix()
                          @ Rotation.from_rotvec(fingers.HINGE_AXIS[b] * curl[b]).as_matrix() @ flip
                          for b in range(fingers.BONES_PER_HAND)])
        hand_world = Rotation.from_rotvec([0.3, -1.2, 0.5]).as_matrix()
        positions, world = fingers.finger_kinematics(np.zeros(3), hand_world, local,
                                                     fingers.rest_offsets(bases, lengths, side))
        points = np.zeros((21, 3))
        points[fingers.BONE_START] = positions
        points[fingers.BONE_END[2::3]] = fingers.fingertips(positions, world, fingers.tip_offsets(lengths, side))
        assert np.allclose(hand_rotation(points, side), hand_world, atol=1e-9)
        measured_bases, measured_lengths = measure_hand(points, side)
        assert np.allclose(measured_bases, bases, atol=1e-9) and np.allclose(measured_lengths, lengths, atol=1e-9)
        fitted, angles = fit_fingers(points, hand_world, side)
        assert np.allclose(angles[:, 0], curl, atol=1e-6) and np.allclose(angles[:, 1], spread, atol=1e-6), side
        assert np.allclose(fitted, local, atol=1e-6)


# ---------------------------------------------------------------- outputs ------------------------------------------

def test_bvh_has_the_finger_joints_and_blender_puts_them_where_livecap_does(hands_run, tmp_path):
    _, _, takes = hands_run
    path = takes / "two_person1.bvh"
    bvh = read(path)
    names, parents, _ = skeleton.full_skeleton()
    assert bvh.names == names and len(names) == 51
    assert bvh.joints[bvh.index("LeftIndexProximal")].parent == bvh.index("LeftHand")
    ours = world_positions(bvh)
    blender = blender_pose(path, tmp_path)  # Blender's own importer, headless
    theirs = np.array([[frame[name] for name in names] for frame in blender["frames"]])
    error_mm = np.abs(theirs - y_up_to_blender(ours)).max() * 1000
    print(f"{path.name}: {len(names)} joints over {bvh.frames} frames in Blender, max {error_mm:.4f} mm from livecap")
    assert error_mm < 1.0
    # the fingers move: their local rotations are not all at rest
    first = bvh.joints[bvh.index("LeftIndexProximal")].first_channel
    assert np.ptp(bvh.motion[:, first:first + 3], axis=0).max() > 5.0


def test_vmc_sends_the_finger_bones_of_the_hands_found(fitted_people):
    encoder = VmcEncoder()
    for person, index in fitted_people:
        if person.id != 1 or person.hands["left"] is None:
            continue
        [(_, messages)] = encoder.encode(FrameResult(index, index / FPS, 0.0, [person]))
        bones = {args[0]: args[1:] for address, args in messages if address == "/VMC/Ext/Bone/Pos"}
        assert {f"LeftIndex{p}" for p in fingers.PHALANGES} <= set(bones)
        assert (person.hands["right"] is None) == ("RightIndexProximal" not in bones)
        assert len(bones) == 21 + 15 * sum(hand is not None for hand in person.hands.values())
        quat = np.array(bones["LeftIndexProximal"][3:])
        assert np.isclose(np.linalg.norm(quat), 1.0, atol=1e-6)
        break
    else:
        pytest.fail("no frame with person 1's left hand")


def test_plain_osc_sends_21_points_per_hand_found(fitted_people):
    person, index = next((p, i) for p, i in fitted_people if p.hands.get("left") is not None)
    [(_, messages)] = PlainEncoder().encode(FrameResult(index, 0.0, 0.0, [person]))
    prefix = f"/livecap/person/{person.id}/hand/left/"
    points = {address[len(prefix):]: args for address, args in messages if address.startswith(prefix)}
    assert len(points) == 22 and points["score"] == (pytest.approx(person.hands["left"].score),)
    assert np.allclose(points["wrist"][:3], person.hands["left"].world[0], atol=1e-6)
    assert points["pinky4"][3] == pytest.approx(person.hands["left"].landmarks2d[20, 2])


def test_drawing_helpers_give_the_hand_segments_in_the_video_and_the_finger_bones_in_3d(fitted_people):
    from livecap.gui.overlay import finger_segments_3d, hand_segments_2d, segments_3d

    person, _ = next((p, i) for p, i in fitted_people if all(h is not None for h in p.hands.values()))
    assert hand_segments_2d(person).shape == (2 * 2 * len(fingers.HAND_EDGES), 2)
    bones = finger_segments_3d(person)
    assert bones.shape == (2 * 2 * 5 * 4, 3) and np.isfinite(bones).all()  # two hands, five fingers, four bones
    assert len(segments_3d(person)) == 2 * (len(skeleton.JOINTS) - 1) + len(bones)


# ---------------------------------------------------------------- control ------------------------------------------

def test_hands_are_on_in_accurate_and_with_the_flag_or_the_config_key(tmp_path):
    assert not PipelineSettings().hands_on and PipelineSettings(preset="accurate").hands_on
    assert not PipelineSettings(preset="accurate", hands=False).hands_on
    assert_switch_from_flag_and_config(tmp_path, "hands")
