"""The OSC sender: handing a frame over never waits for the network, every frame goes out when the sender keeps
up, the rate limit sends the newest frame, an unusable destination is a status and a retry, not a crash; and
which person a one-person stream follows."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pytest

from livecap.sinks.osc.people import PersonChooser, Presence, SlotAssigner
from livecap.sinks.osc.plain import PlainEncoder
from livecap.sinks.osc.sender import OscStreamer
from livecap.types import FrameResult
from livecap.workers import SinkWorker
from osc_receivers import Receiver
from osc_support import facing_camera


class _Stuck:
    """An encoder that waits until released: a sender that has fallen behind."""

    def __init__(self):
        self.release = threading.Event()

    def encode(self, result):
        self.release.wait(10)
        return [(0, [("/x", (float(result.index),))])]


def test_handing_frames_over_never_waits_for_the_sender_and_counts_dropped_frames():
    encoder = _Stuck()
    with Receiver() as receiver:
        streamer = OscStreamer("test", encoder, port=receiver.port, queue_size=4)
        worker = SinkWorker(streamer, capacity=64)  # as the engine runs every sink: the stream's own queue size
        worker.start(None)
        costs = []
        for i in range(200):
            started = time.perf_counter()
            worker.offer(FrameResult(i, i / 30, 0.0, []))
            costs.append(time.perf_counter() - started)
        assert max(costs) < 0.05 and np.median(costs) < 1e-3
        encoder.release.set()
        worker.stop()
        receiver.wait_for(5)
        stats, dropped = streamer.stats(), worker.status().dropped
        # the one frame in the sender's hand (if it got one before the burst ended) and the newest 4 go out
        assert stats.frames in (4, 5) and stats.sent in (4, 5) and stats.sent + dropped == 200
        got = [args[0] for bundle in receiver.bundles() for _, _, args in bundle]
        assert got[-4:] == [196.0, 197.0, 198.0, 199.0]


def test_every_frame_is_sent_when_the_sender_keeps_up():
    with Receiver() as receiver:
        streamer = OscStreamer("osc", PlainEncoder(), port=receiver.port)
        streamer.start()
        for i in range(100):
            streamer.write(FrameResult(i, i / 100, 0.0, [facing_camera()]))
            time.sleep(0.01)
        streamer.close()
        receiver.wait_for(100)
    assert streamer.stats().sent == 100 and streamer.stats().skipped == 0
    assert [b[0][2][0] for b in receiver.bundles()] == list(range(100))


def test_the_rate_limit_sends_the_newest_frame_and_counts_the_skipped_ones():
    with Receiver() as receiver:
        streamer = OscStreamer("osc", PlainEncoder(), port=receiver.port, rate=10)
        streamer.start()
        for i in range(60):  # 1 s of 60 fps
            streamer.write(FrameResult(i, i / 60, 0.0, []))
            time.sleep(1 / 60)
        time.sleep(0.15)
        stats = streamer.stats()
        streamer.close()
    assert 8 <= stats.sent <= 13  # 10 Hz over ~1.1 s
    assert stats.sent + stats.skipped == 60 and stats.skipped > 40


@pytest.mark.parametrize("host, problem", [("no-such-host.invalid", "cannot resolve"),
                                           ("255.255.255.255", "cannot send")])  # broadcast is refused
def test_an_unusable_destination_is_a_status_and_a_retry_not_a_crash(host, problem, caplog):
    caplog.set_level(logging.INFO, logger="livecap")
    streamer = OscStreamer("osc", PlainEncoder(), host=host, port=9, retry_s=0.2)
    streamer.start()
    for i in range(30):
        streamer.write(FrameResult(i, i / 30, 0.0, []))
        time.sleep(0.02)
    streamer.close()
    stats = streamer.stats()
    assert stats.sent == 0 and stats.failed == 30
    assert 2 <= stats.errors < 10  # retried every 0.2 s, not once per frame
    assert problem in stats.status
    warnings = [r.getMessage() for r in caplog.records if r.name == "livecap"]
    assert len(warnings) == 1 and problem in warnings[0] and "retrying" in warnings[0]  # logged once


def test_close_never_raises_even_unstarted_or_twice():
    streamer = OscStreamer("osc", PlainEncoder())
    streamer.close()
    streamer.start()
    streamer.close()
    streamer.close()


def test_people_choice_follows_one_person_and_slots_are_reused():
    chooser = PersonChooser()
    assert [chooser.choose(ids) for ids in ([3, 5], [5, 3], [5], [1, 5], [])] == [3, 3, 5, 5, None]
    assert PersonChooser(5).choose([3]) is None
    slots = SlotAssigner()
    assert slots.assign([4, 2]) == {2: 0, 4: 1}
    assert slots.assign([4, 9]) == {4: 1, 9: 0}
    assert Presence().update([2, 1]) == ([1, 2], [])
