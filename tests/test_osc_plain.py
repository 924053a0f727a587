"""The plain OSC scheme for creative tools (issue #6): a real receiver on loopback gets one bundle per frame with
the values of the JSONL results, people appearing and leaving, and floor space; oscdump (liblo) reads the stream
as a third-party receiver; `livecap process` reports each stream."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import numpy as np
import pytest

from livecap.sinks.osc.plain import PlainEncoder
from livecap.sinks.osc.sender import OscStreamer
from livecap.sinks.osc.vmc import VmcEncoder
from livecap.sinks.replay import frame_from_record
from livecap.skeleton import JOINTS
from livecap.types import FrameResult
from osc_receivers import free_port_pair
from osc_support import FRAMES, by_address, same_rotation


def test_plain_osc_sends_one_bundle_per_frame_with_the_jsonl_values(streamed_run):
    assert len(streamed_run.plain) == FRAMES
    for bundle, frame in zip(streamed_run.plain, streamed_run.frames):
        messages = by_address(bundle)
        tags, (index, seconds, count) = messages["/livecap/frame"]
        assert tags == "ifi" and index == frame["frame"] and count == len(frame["people"])
        assert seconds == pytest.approx(frame["time"], abs=1e-5)
        assert messages["/livecap/people"][1] == tuple(p["id"] for p in frame["people"])
        for person in frame["people"]:
            prefix = f"/livecap/person/{person['id']}"
            assert messages[f"{prefix}/score"][1][0] == pytest.approx(person["score"], abs=6e-4)
            tags, root = messages[f"{prefix}/root"]
            assert tags == "f" * 7
            assert np.allclose(root[:3], person["root"], atol=6e-5)
            assert same_rotation(root[3:], person["rotations"][0], atol=6e-5)
            for j, name in enumerate(JOINTS):
                tags, (x, y, z, confidence) = messages[f"{prefix}/joint/{name}"]
                assert tags == "ffff"
                assert np.allclose((x, y, z), person["joints3d"][j], atol=6e-5)  # JSONL keeps 4 decimals
                assert 0.0 <= confidence <= 1.0


def test_plain_osc_reports_people_appearing_and_leaving(streamed_run):
    events = [[(a, args) for a, _, args in bundle if a in ("/livecap/person/appeared", "/livecap/person/left")]
              for bundle in streamed_run.plain]
    assert events[0] == [("/livecap/person/appeared", (1,)), ("/livecap/person/appeared", (2,))]
    assert not any(events[1:])  # both people stay in view for the whole clip
    encoder = PlainEncoder()
    person = frame_from_record(streamed_run.frames[0]).people
    sequence = [[person[0], person[1]], [person[1]], [], [person[0]]]
    seen = [[(a, args) for a, args in encoder.encode(FrameResult(i, i / 30, 0.0, people))[0][1]
             if a.endswith(("appeared", "left"))] for i, people in enumerate(sequence)]
    assert seen == [[("/livecap/person/appeared", (1,)), ("/livecap/person/appeared", (2,))],
                    [("/livecap/person/left", (1,))], [("/livecap/person/left", (2,))],
                    [("/livecap/person/appeared", (1,))]]


def test_plain_osc_floor_space_is_y_up_with_feet_on_the_floor(streamed_run):
    encoder = PlainEncoder("floor")
    feet, heads = {1: [], 2: []}, []
    for record in streamed_run.frames:
        messages = by_address([(a, "", args) for a, args in encoder.encode(frame_from_record(record))[0][1]])
        for person in record["people"]:
            prefix = f"/livecap/person/{person['id']}/joint"
            feet[person["id"]].append(min(messages[f"{prefix}/{n}"][1][1] for n in ("LeftToes", "RightToes")))
            heads.append(messages[f"{prefix}/Head"][1][1])
    # one level floor for everyone: the camera's pitch leaves the farther person's feet a little off it
    assert all(abs(np.median(person_feet)) < 0.15 for person_feet in feet.values())
    assert min(np.median(person_feet) for person_feet in feet.values()) == pytest.approx(0.0, abs=0.03)
    assert 1.2 < np.median(heads) < 1.9  # the head's root, metres above the floor


def test_oscdump_prints_the_stream(streamed_run):
    if shutil.which("oscdump") is None:
        if os.environ.get("CI"):
            pytest.fail("oscdump is missing: .ci/run installs Debian's liblo-tools")
        pytest.skip("oscdump is missing (apt-get install liblo-tools)")
    port = free_port_pair()
    dump = subprocess.Popen(["oscdump", "-L", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)  # oscdump binds its port
        frames = [frame_from_record(r) for r in streamed_run.frames[:3]]
        for streamer in (OscStreamer("osc", PlainEncoder(), port=port), OscStreamer("vmc", VmcEncoder(), port=port)):
            streamer.start()
            for frame in frames:
                streamer.write(frame)
            streamer.close()
        time.sleep(0.5)
    finally:
        dump.terminate()
        output = dump.communicate(timeout=10)[0]
    lines = [line.split(" ", 1)[1] for line in output.splitlines()]  # drop oscdump's timestamp column
    assert "/livecap/frame ifi 0 0.000000 2" in lines
    assert sum(line.startswith("/livecap/person/1/joint/LeftHand ffff ") for line in lines) == 3
    assert sum(line.startswith('/VMC/Ext/Bone/Pos sfffffff "Hips" ') for line in lines) == 3
    assert sum(line.startswith("/VMC/Ext/OK i 1") for line in lines) == 3


def test_process_reports_each_stream(streamed_run):
    lines = streamed_run.stdout.splitlines()
    assert f"osc: {FRAMES} of {FRAMES} frames sent, 0 dropped, 0 failed" in "\n".join(lines)
    assert any(line.startswith("vmc: ") and "streaming to 127.0.0.1:" in line for line in lines)
