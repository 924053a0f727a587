"""Paced OSC streaming benchmark: replay a recorded run at its own frame rate through the VMC, VRChat and plain
OSC streamers to python-osc receivers on loopback, and report what was sent, received and dropped, and what
handing a frame to each stream costs the pipeline.

    livecap bench --osc results.jsonl --seconds 300

The recording is looped (frame numbers and times keep counting) until the time is up.
"""

from __future__ import annotations

import dataclasses
import resource
import socket
import threading
import time

import numpy as np
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer

from livecap.sinks.osc import vrchat
from livecap.sinks.osc.kinds import KINDS, stream_sinks
from livecap.workers import SinkWorker
from livecap.sinks.replay import read_results


class CountingReceiver:
    """A python-osc server on loopback that counts the bundles (datagrams) and messages it gets."""

    def __init__(self):
        self.bundles = 0
        self.messages = 0
        dispatcher = Dispatcher(strict_timing=False)
        dispatcher.set_default_handler(self._message)
        receiver = self

        class _Counting(BlockingOSCUDPServer):
            def process_request(self, request, client_address):
                receiver.bundles += 1
                super().process_request(request, client_address)

        self.server = _Counting(("127.0.0.1", 0), dispatcher)
        self.server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def _message(self, address, *args):
        self.messages += 1

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def run(path: str, seconds: float) -> dict:
    header, frames = read_results(path)
    fps = header["fps"] or 30.0
    receivers = {kind.name: CountingReceiver() for kind in KINDS}
    given = {name: ("127.0.0.1", receiver.port) for name, receiver in receivers.items()}
    streams = stream_sinks({**given, "vrchat_trackers": tuple(vrchat.TRACKERS)})
    workers = [SinkWorker(stream, capacity=stream.queue_size) for stream in streams]  # as the engine runs them
    for worker in workers:
        worker.start(None)
    costs, lateness = [], []
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    n = 0
    while n / fps < seconds:
        due = started + n / fps
        now = time.perf_counter()
        if due > now:
            time.sleep(due - now)
        lateness.append(time.perf_counter() - due)
        source = frames[n % len(frames)]
        frame = dataclasses.replace(source, index=n, time=n / fps, captured_at=time.monotonic())
        for worker in workers:
            t0 = time.perf_counter_ns()
            worker.offer(frame)
            costs.append(time.perf_counter_ns() - t0)
        n += 1
    wall = time.perf_counter() - started
    for worker in workers:
        worker.stop()
    time.sleep(0.5)
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    for receiver in receivers.values():
        receiver.close()
    micro = np.array(costs) / 1000.0
    return {"frames": n, "fps": fps, "wall_s": wall, "cpu_percent": 100 * cpu / wall,
            "write_us_p50": float(np.percentile(micro, 50)), "write_us_p99": float(np.percentile(micro, 99)),
            "write_us_max": float(micro.max()), "late_ms_p99": 1000 * float(np.percentile(lateness, 99)),
            "streams": {w.sink.name: {**dataclasses.asdict(w.sink.stats()), "dropped": w.status().dropped,
                                      "received_bundles": receivers[w.sink.name].bundles,
                                      "received_messages": receivers[w.sink.name].messages} for w in workers}}


def report_lines(report: dict) -> list[str]:
    lines = [f"{report['frames']} frames paced at {report['fps']:.2f} fps over {report['wall_s']:.1f} s "
             f"(p99 lateness {report['late_ms_p99']:.2f} ms), process CPU {report['cpu_percent']:.1f}%",
             f"write(): p50 {report['write_us_p50']:.1f} us, p99 {report['write_us_p99']:.1f} us, "
             f"max {report['write_us_max']:.1f} us"]
    for name, s in report["streams"].items():
        lines.append(f"{name:7s} sent {s['sent']} of {s['frames']}, received {s['received_bundles']} bundles "
                     f"({s['received_messages']} messages), dropped {s['dropped']}, skipped {s['skipped']}, "
                     f"failed {s['failed']}, errors {s['errors']}")
    return lines
