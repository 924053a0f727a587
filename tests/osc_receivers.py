"""Real OSC receivers on loopback for the streaming tests: python-osc servers that keep every datagram."""

from __future__ import annotations

import socket
import threading
import time

from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_packet import OscPacket
from pythonosc.osc_server import BlockingOSCUDPServer
from pythonosc.parsing.osc_types import get_string


class _Recording(Dispatcher):
    """A python-osc dispatcher that also keeps the raw datagrams, to check bundles and type tags."""

    def __init__(self):
        super().__init__(strict_timing=False)  # never wait on a bundle's timetag (ecosystem notes 3.3)
        self.datagrams: list[bytes] = []
        self.set_default_handler(lambda address, *args: None)

    def call_handlers_for_packet(self, data, client_address):
        self.datagrams.append(bytes(data))
        return super().call_handlers_for_packet(data, client_address)


class Receiver:
    """A python-osc UDP server on 127.0.0.1 (port 0: a free one) serving on a thread of its own."""

    def __init__(self, port: int = 0):
        self.dispatcher = _Recording()
        self.server = BlockingOSCUDPServer(("127.0.0.1", port), self.dispatcher)
        self.server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def datagrams(self) -> list[bytes]:
        return list(self.dispatcher.datagrams)

    def bundles(self) -> list[list[tuple[str, str, tuple]]]:
        """Each datagram's messages as (address, type tags, args)."""
        return [[(m.message.address, type_tags(m.message.dgram), tuple(m.message.params))
                 for m in OscPacket(d).messages] for d in self.datagrams]

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        end = time.monotonic() + timeout
        while len(self.dispatcher.datagrams) < count and time.monotonic() < end:
            time.sleep(0.02)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def type_tags(message_dgram: bytes) -> str:
    """The OSC type tag string of one message (without the leading comma)."""
    _, index = get_string(message_dgram, 0)
    tags, _ = get_string(message_dgram, index)
    return tags[1:]


def free_port_pair() -> int:
    """A port p with p and p + 1 both free on loopback (VMC 'all' sends person k to port + k)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
                try:
                    b.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise RuntimeError("no two consecutive free UDP ports on loopback")
