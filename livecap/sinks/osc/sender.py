"""OscStreamer: a sink that turns each frame into OSC bundles (livecap.sinks.osc encoders) and sends them over UDP.

It runs on the engine's sink worker (livecap.workers), the only thread it needs: the worker's bounded queue drops
the oldest frame when the network falls behind, so the pipeline never waits on it. With a rate, a frame that comes
before the next one is due is skipped (and counted): the stream carries the newest pose at that rate. A
destination that fails (a name that does not resolve, an unreachable network, a refused send) is logged once per
change of state and retried every `retry_s` seconds; frames meant for it meanwhile are counted as failed. Nothing
here raises into the pipeline; only check(), called before any work starts, refuses a destination that cannot be
sent to at all.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass, replace

from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.udp_client import UDPClient

from livecap.errors import OutputError
from livecap.sinks.osc import Message, Packet
from livecap.types import FrameResult, StreamInfo

log = logging.getLogger("livecap")

MAX_DATAGRAM = 60000  # below UDP's 65507-byte limit; a larger frame is split into several bundles
TYPE_TAGS = {float: "f", int: "i", str: "s"}


@dataclass
class StreamStats:
    """Counters for status lines and the GUI (a snapshot: read it with OscStreamer.stats()). Frames the sink never
    got (its queue was full) are the engine's count: SinkStatus.dropped."""

    frames: int = 0  # frames handed to write()
    sent: int = 0  # frames whose bundles all went out
    bundles: int = 0  # datagrams sent
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
    """A Sink that streams an encoder's packets to host:port (+ the packet's slot)."""

    def __init__(self, name: str, encoder, host: str = "127.0.0.1", port: int = 9000, rate: float | None = None,
                 queue_size: int = 8, retry_s: float = 2.0):
        self.name, self.encoder, self.host, self.port = name, encoder, host, port
        self.rate, self.retry_s = rate, retry_s
        self.queue_size = queue_size  # frames the engine's worker holds for it, the oldest dropped first
        self._stats = StreamStats()
        self._lock = threading.Lock()  # stats are read from other threads
        self._links: dict[int, _Link] = {}
        self._encode_errors = 0
        self._next_due = 0.0

    def check(self) -> None:
        """The destination resolves and this machine has a way to send there (a route; for a broadcast address, the
        right to). No packet is sent, and no receiver is needed: UDP does not know whether one listens."""
        try:
            family, kind, proto, _, address = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)[0]
            with socket.socket(family, kind, proto) as probe:
                probe.connect(address)
        except (OSError, UnicodeError) as exc:
            raise OutputError(f"cannot stream --{self.name} to {self.host}:{self.port} "
                              f"({getattr(exc, 'strerror', None) or exc}): check the host name or address and that "
                              f"this machine has a network route to it") from None

    def start(self, info: StreamInfo | None = None) -> None:
        self._stats.status = f"waiting for frames ({self.host}:{self.port})"

    def write(self, result: FrameResult) -> None:
        with self._lock:
            self._stats.frames += 1
        if self.rate:
            now = time.monotonic()
            if now < self._next_due:
                with self._lock:
                    self._stats.skipped += 1
                return
            self._next_due = max(self._next_due + 1.0 / self.rate, now)
        self._send_frame(result)

    def stats(self) -> StreamStats:
        with self._lock:
            return replace(self._stats)

    def detail(self) -> str:
        s = self.stats()
        return f"{s.status}; {s.sent} of {s.frames} frames sent, {s.skipped} skipped, {s.failed} failed"

    def close(self) -> None:
        for link in self._links.values():
            link.close()

    def _send_frame(self, result: FrameResult) -> None:
        try:
            packets: list[Packet] = self.encoder.encode(result)
            built = [(slot, build_bundles(messages)) for slot, messages in packets if messages]
        except Exception as exc:  # a bug in an encoder must not end the stream: report it, go on
            log.exception("%s: could not encode frame %s", self.name, result.index)
            with self._lock:
                self._encode_errors += 1
                self._stats.errors += 1
                self._stats.failed += 1
                self._stats.status = f"encoding failed ({exc})"
            return
        ok = all([self._link(slot).send(bundles) for slot, bundles in built])
        with self._lock:
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
