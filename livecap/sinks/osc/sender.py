"""OscStreamer: the threaded shell around a pure OSC encoder (livecap.sinks.osc).

write() only puts the frame in a small bounded queue (dropping and counting the oldest frame when the sender
falls behind), so the pipeline never waits on the network. The sender thread encodes each frame, builds one OSC
bundle per destination with python-osc and sends it over UDP, at most `rate` bundles a second when a rate is set
(then it sends the newest frame and counts the ones it passed over as skipped). A destination that fails (a name
that does not resolve, an unreachable network, a refused send) is logged once per change of state and retried
every `retry_s` seconds; frames meant for it meanwhile are counted as failed. Nothing here raises into the
pipeline.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, replace

from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.udp_client import UDPClient

from livecap.sinks.osc import Message, Packet
from livecap.types import FrameResult, StreamInfo

log = logging.getLogger("livecap")

MAX_DATAGRAM = 60000  # below UDP's 65507-byte limit; a larger frame is split into several bundles
TYPE_TAGS = {float: "f", int: "i", str: "s"}


@dataclass
class StreamStats:
    """Counters for status lines and the GUI (a snapshot: read it with OscStreamer.stats())."""

    frames: int = 0  # frames handed to write()
    sent: int = 0  # frames whose bundles all went out
    bundles: int = 0  # datagrams sent
    dropped: int = 0  # frames lost because the sender fell behind (queue full)
    skipped: int = 0  # frames passed over to keep to the rate limit
    failed: int = 0  # frames not (fully) sent because a destination failed
    errors: int = 0  # failed resolutions and sends
    status: str = "not started"


def build_message(address: str, args: tuple):
    builder = OscMessageBuilder(address)
    for value in args:
        builder.add_arg(value, TYPE_TAGS[type(value)])  # explicit tags: floats are always float32
    return builder.build()


def build_bundles(messages: list[Message]) -> list[OscBundle]:
    """One bundle (timetag 'immediately') with every message, or several when it would not fit a datagram."""
    return _bundles([build_message(address, args) for address, args in messages])


def _bundles(built: list) -> list[OscBundle]:
    builder = OscBundleBuilder(IMMEDIATELY)
    for message in built:
        builder.add_content(message)
    bundle = builder.build()
    if bundle.size <= MAX_DATAGRAM or len(built) == 1:
        return [bundle]
    half = len(built) // 2
    return _bundles(built[:half]) + _bundles(built[half:])


class _Link:
    """One UDP destination: resolved once per connection attempt, so a slow name server never stalls a send."""

    def __init__(self, name: str, host: str, port: int, retry_s: float):
        self.name, self.host, self.port, self.retry_s = name, host, port, retry_s
        self.client: UDPClient | None = None
        self.retry_at = 0.0
        self.state = ""
        self.errors = 0

    def send(self, bundles: list[OscBundle]) -> bool:
        if self.client is None and not self._connect():
            return False
        try:
            for bundle in bundles:
                self.client.send(bundle)
        except OSError as exc:
            self._fail(f"cannot send to {self.host}:{self.port} ({exc.strerror or exc})")
            return False
        self._set_state("ok", f"streaming to {self.host}:{self.port}", logging.INFO)
        return True

    def _connect(self) -> bool:
        if time.monotonic() < self.retry_at:
            return False
        try:
            family, _, _, _, address = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)[0]
            self.client = UDPClient(address[0], self.port, family=family)  # numeric: no look-up per send
            return True
        except (OSError, UnicodeError) as exc:
            self._fail(f"cannot resolve {self.host} ({getattr(exc, 'strerror', None) or exc})")
            return False

    def _fail(self, message: str) -> None:
        self.errors += 1
        self.close()
        self.retry_at = time.monotonic() + self.retry_s
        self._set_state(message, f"{message}; retrying every {self.retry_s:g} s", logging.WARNING)

    def _set_state(self, state: str, message: str, level: int) -> None:
        if state != self.state:  # log once per change, not once per frame
            self.state = state
            log.log(level, "%s: %s", self.name, message)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


class OscStreamer:
    """A Sink that streams an encoder's packets to host:port (+ the packet's slot) on a thread of its own."""

    def __init__(self, name: str, encoder, host: str = "127.0.0.1", port: int = 9000, rate: float | None = None,
                 queue_size: int = 8, retry_s: float = 2.0, drain_s: float = 2.0):
        self.name, self.encoder, self.host, self.port = name, encoder, host, port
        self.rate, self.retry_s, self.drain_s = rate, retry_s, drain_s
        self._queue: deque[FrameResult] = deque()
        self._queue_size = queue_size
        self._wake = threading.Condition()
        self._stats = StreamStats()
        self._links: dict[int, _Link] = {}
        self._encode_errors = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self, info: StreamInfo | None = None) -> None:
        self._stats.status = f"waiting for frames ({self.host}:{self.port})"
        self._thread = threading.Thread(target=self._run, name=f"livecap-{self.name}", daemon=True)
        self._thread.start()

    def write(self, result: FrameResult) -> None:
        with self._wake:
            self._stats.frames += 1
            if len(self._queue) >= self._queue_size:
                self._queue.popleft()
                self._stats.dropped += 1
            self._queue.append(result)
            self._wake.notify()

    def stats(self) -> StreamStats:
        with self._wake:
            return replace(self._stats)

    def close(self) -> None:
        """Sends what is queued (for at most drain_s seconds), then stops. Never raises."""
        try:
            with self._wake:
                self._stopping = True
                self._wake.notify()
            if self._thread is not None:
                self._thread.join(self.drain_s + 1.0)
            for link in self._links.values():
                link.close()
        except Exception as exc:  # close must not raise: report and go on
            log.warning("%s: closing failed (%s)", self.name, exc)

    def _run(self) -> None:
        next_due = 0.0
        deadline = None
        while True:
            with self._wake:
                while not self._queue and not self._stopping:
                    self._wake.wait()
                if not self._queue:
                    return
                if self._stopping and deadline is None:
                    deadline = time.monotonic() + self.drain_s
            if self.rate and not self._stopping:
                time.sleep(max(0.0, next_due - time.monotonic()))
                next_due = max(next_due + 1.0 / self.rate, time.monotonic())
            result = self._take()
            if deadline is not None and time.monotonic() > deadline:
                with self._wake:
                    self._stats.dropped += len(self._queue) + 1
                    self._queue.clear()
                return
            self._send_frame(result)

    def _take(self) -> FrameResult:
        """The next frame; with a rate limit the newest one, counting the frames passed over."""
        with self._wake:
            if self.rate and not self._stopping:
                self._stats.skipped += len(self._queue) - 1
                result = self._queue[-1]
                self._queue.clear()
                return result
            return self._queue.popleft()

    def _send_frame(self, result: FrameResult) -> None:
        try:
            packets: list[Packet] = self.encoder.encode(result)
            built = [(slot, build_bundles(messages)) for slot, messages in packets if messages]
        except Exception as exc:  # a bug in an encoder must not end the stream: report it, go on
            log.exception("%s: could not encode frame %s", self.name, result.index)
            with self._wake:
                self._encode_errors += 1
                self._stats.errors += 1
                self._stats.failed += 1
                self._stats.status = f"encoding failed ({exc})"
            return
        ok = all([self._link(slot).send(bundles) for slot, bundles in built])
        with self._wake:
            self._stats.bundles += sum(len(d) for _, d in built) if ok else 0
            self._stats.sent += ok
            self._stats.failed += not ok
            self._stats.errors = self._encode_errors + sum(link.errors for link in self._links.values())
            self._stats.status = self._status()

    def _link(self, slot: int) -> _Link:
        if slot not in self._links:
            self._links[slot] = _Link(self.name, self.host, self.port + slot, self.retry_s)
        return self._links[slot]

    def _status(self) -> str:
        bad = [link.state for link in self._links.values() if link.state != "ok"]
        if bad:
            return bad[0]
        ports = sorted(link.port for link in self._links.values())
        where = f"{self.host}:{ports[0]}" + (f"-{ports[-1]}" if len(ports) > 1 else "") if ports else self.host
        return f"streaming to {where}"
