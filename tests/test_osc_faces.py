"""Faces over OSC (issue 27): a real `livecap process --face` on two_people streams to python-osc receivers on
loopback. VMC sends the followed person's expressions as blendshapes (VRM 0.x names by default, then one Apply)
and their eye bones, only in frames where their face is seen; plain OSC sends every person's expressions. The
values are the JSONL results' own."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from conftest import TWO_PEOPLE, read_jsonl, run_livecap
from livecap.pose.expressions import NAMES, named
from livecap.skeleton import JOINTS
from livecap.sinks.osc.vmc import VmcEncoder
from livecap.sinks.replay import frame_from_record
from osc_receivers import Receiver
from osc_support import received_bundle, same_rotation

FACE_FRAMES = 24
VRM0 = list(named(dict.fromkeys(NAMES, 0.0), "vrm0"))


@pytest.fixture(scope="module")
def face_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("osc_faces") / "two.jsonl"
    with Receiver() as vmc, Receiver() as plain:
        done = run_livecap("process", str(TWO_PEOPLE), "--face", "--max-frames", str(FACE_FRAMES), "--out",
                           str(out), "--no-progress", "--vmc", str(vmc.port), "--osc", str(plain.port))
        assert done.returncode == 0, done.stderr
        vmc.wait_for(FACE_FRAMES)
        plain.wait_for(FACE_FRAMES)
        _, frames = read_jsonl(out)
        return SimpleNamespace(frames=frames, vmc=vmc.bundles(), plain=plain.bundles())


def _followed(frame: dict, current: int | None) -> int | None:
    """VMC's person: whoever it followed already, else the lowest id present (livecap.sinks.osc.people)."""
    ids = [p["id"] for p in frame["people"]]
    return current if current in ids else min(ids, default=None)


def test_vmc_sends_the_followed_persons_blendshapes_then_apply_where_their_face_is_seen(face_run):
    followed, with_face = None, 0
    for bundle, frame in zip(face_run.vmc, face_run.frames):
        followed = _followed(frame, followed)
        person = next(p for p in frame["people"] if p["id"] == followed)
        addresses = [a for a, _, _ in bundle]
        assert addresses[-2:] == ["/VMC/Ext/OK", "/VMC/Ext/T"]
        if person["face"] is None:
            assert not any(a.startswith("/VMC/Ext/Blend") for a in addresses)
            assert "LeftEye" not in [args[0] for a, _, args in bundle if a == "/VMC/Ext/Bone/Pos"]
            continue
        with_face += 1
        blends = [(tags, args) for a, tags, args in bundle if a == "/VMC/Ext/Blend/Val"]
        assert [args[0] for _, args in blends] == VRM0 and all(tags == "sf" for tags, _ in blends)
        assert addresses[-3] == "/VMC/Ext/Blend/Apply" and addresses.index("/VMC/Ext/Blend/Apply") == len(
            addresses) - 3
        expected = named(person["face"]["expressions"], "vrm0")  # the results keep 3 decimals
        assert {args[0]: args[1] for _, args in blends} == pytest.approx(expected, abs=6e-4)
        head = next(args[4:] for a, _, args in bundle if a == "/VMC/Ext/Bone/Pos" and args[0] == "Head")
        qx, qy, qz, qw = person["rotations"][JOINTS.index("Head")]  # the mesh's head (livecap.pose.head)
        assert same_rotation(head, (qx, -qy, -qz, qw), atol=6e-5)
        eyes = [args[0] for a, _, args in bundle if a == "/VMC/Ext/Bone/Pos"][-2:]
        assert eyes == (["LeftEye", "RightEye"] if person["face"]["iris"] else eyes)
    assert with_face >= 5  # the man facing the camera, followed from the first frame


def test_plain_osc_sends_every_persons_expressions(face_run):
    faces_seen = set()
    for bundle, frame in zip(face_run.plain, face_run.frames):
        sent = {a: args for a, _, args in bundle}
        for person in frame["people"]:
            prefix = f"/livecap/person/{person['id']}/face"
            if person["face"] is None:
                assert f"{prefix}/score" not in sent
                continue
            faces_seen.add(person["id"])
            assert sent[f"{prefix}/score"][0] == pytest.approx(person["face"]["score"], abs=1e-3)
            for name, value in person["face"]["expressions"].items():
                assert sent[f"{prefix}/{name}"][0] == pytest.approx(value, abs=6e-4)  # the results keep 3 decimals
    assert faces_seen


def test_vmc_blendshapes_can_carry_vrm1_or_arkit_names(face_run):
    """The frames of the run replayed from its results into the encoder, to a real receiver."""
    record = next(f for f in face_run.frames if f["people"][0]["face"] is not None)
    frame = frame_from_record(record)
    person = frame.people[0]
    for scheme, name, source in (("vrm1", "blinkLeft", "Blink_L"), ("arkit", "eyeBlinkLeft", "Blink_L"),
                                 ("arkit", "jawOpen", "jawOpen"), ("vrm1", "aa", "A")):
        _, bundle = received_bundle(VmcEncoder(person.id, blendshapes=scheme), frame.people)
        values = {args[0]: args[1] for a, _, args in bundle if a == "/VMC/Ext/Blend/Val"}
        assert set(values) == set(named(person.face.expressions, scheme))
        assert values[name] == pytest.approx(person.face.expressions[source], abs=1e-6)
    with pytest.raises(ValueError, match="unknown blendshape names"):
        VmcEncoder(blendshapes="vrm2")


def test_the_eyes_turn_where_the_gaze_looks():
    """A look to the person's left turns the avatar's eyes to its left (Unity -X), a look up turns them up."""
    from livecap.sinks.osc.unity import unity_quaternion
    from livecap.pose.head import EYE_YAW_FULL, eye_rotation

    ahead = np.array([0.0, 0.0, 1.0])
    left = Rotation.from_quat(unity_quaternion(eye_rotation({"LookLeft": 1.0}))).apply(ahead)
    up = Rotation.from_quat(unity_quaternion(eye_rotation({"LookUp": 1.0}))).apply(ahead)
    assert left[0] < -0.3 and np.degrees(np.arccos(left[2])) == pytest.approx(np.degrees(EYE_YAW_FULL))
    assert up[1] > 0.15 and abs(up[0]) < 1e-9
    assert np.allclose(eye_rotation({}), (0, 0, 0, 1))


def test_the_blendshape_names_come_from_the_flag_or_the_config_key_checked_once(tmp_path):
    from livecap.app.cli import _configure, build_parser
    from livecap.errors import LivecapError
    from livecap.sinks.osc.kinds import stream_sinks

    def parse(argv, config_text=None, tmp_path=None):  # the config file, then the flags, as `livecap` reads them
        if config_text is not None:
            (tmp_path / "config.toml").write_text(config_text)
            argv = ["--config", str(tmp_path / "config.toml"), *argv]
        parser = build_parser()
        _configure(parser, argv)
        return parser.parse_args(argv)

    args = parse(["run", "--vmc"], '[vmc]\nblendshapes = "arkit"\n', tmp_path)
    assert stream_sinks(vars(args))[0].encoder.blendshapes == "arkit"
    args = parse(["run", "--vmc", "--vmc-blendshapes", "vrm1"], '[vmc]\nblendshapes = "arkit"\n', tmp_path)
    assert stream_sinks(vars(args))[0].encoder.blendshapes == "vrm1"  # the flag wins
    assert stream_sinks(vars(parse(["run", "--vmc"])))[0].encoder.blendshapes == "vrm0"
    with pytest.raises(LivecapError, match=r"\[vmc\] blendshapes = 'vrm2': choose one of vrm0, vrm1, arkit"):
        parse(["run"], '[vmc]\nblendshapes = "vrm2"\n', tmp_path)
