"""Command-line flags and configuration for the OSC streams, shared by `livecap process` and `livecap run`.

`add_osc_arguments(parser)` adds the flags; `osc_sinks_from_args(args)` (or `osc_sinks(StreamOptions)` for a GUI
or config file) returns ready-to-start sinks. Every destination defaults to loopback; livecap only sends.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from livecap.sinks.osc import plain as plain_osc
from livecap.sinks.osc import vmc as vmc_osc
from livecap.sinks.osc import vrchat as vrchat_osc
from livecap.sinks.osc.sender import OscStreamer

LOOPBACK = "127.0.0.1"


def parse_destination(text: str, default_port: int) -> tuple[str, int]:
    """'PORT', 'HOST', 'HOST:PORT' or '[IPv6]:PORT' -> (host, port); the host defaults to loopback."""
    text = text.strip()
    host, port = text, str(default_port)
    if text.startswith("["):  # [::1]:9000
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else port
    elif text.isdigit():
        host, port = LOOPBACK, text
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"bad port in {text!r}: give [HOST:]PORT with a port from 1 to 65535")
    if not host:
        host = LOOPBACK
    return host, int(port)


def _destination(default_port: int):
    def parse(text: str) -> tuple[str, int]:
        return parse_destination(text, default_port)
    parse.__name__ = "[HOST:]PORT"  # argparse names the type in its error message
    return parse


def _person(text: str, allow_all: bool = False) -> int | str:
    if allow_all and text == "all":
        return "all"
    if text.isdigit():
        return int(text)
    raise argparse.ArgumentTypeError(f"bad person {text!r}: give a person id" + (" or 'all'" if allow_all else ""))


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError(f"bad rate {text!r}: give frames per second, more than 0 and at most 1000")
    return value


def _roles(text: str) -> tuple[str, ...]:
    roles = tuple(r.strip() for r in text.split(",") if r.strip())
    unknown = [r for r in roles if r not in vrchat_osc.TRACKERS]
    if unknown or not roles:
        raise argparse.ArgumentTypeError(f"bad trackers {text!r}: choose from {','.join(vrchat_osc.TRACKERS)}")
    return roles


def _height(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0.5 <= value <= 2.5:
        raise argparse.ArgumentTypeError(f"bad height {text!r}: give the performer's height in metres (0.5-2.5)")
    return value


def add_osc_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("streaming over OSC (README: OSC streaming)")
    g.add_argument("--vmc", nargs="?", const=(LOOPBACK, vmc_osc.DEFAULT_PORT), type=_destination(vmc_osc.DEFAULT_PORT),
                   metavar="[HOST:]PORT", help=f"stream VMC protocol to a receiver (default {LOOPBACK}:"
                                               f"{vmc_osc.DEFAULT_PORT})")
    g.add_argument("--vmc-person", type=lambda s: _person(s, allow_all=True), metavar="ID|all",
                   help="the person the VMC avatar follows (default: the first one seen); 'all': one port each, "
                        "counting up from the VMC port")
    g.add_argument("--vrchat", nargs="?", const=(LOOPBACK, vrchat_osc.DEFAULT_PORT),
                   type=_destination(vrchat_osc.DEFAULT_PORT), metavar="[HOST:]PORT",
                   help=f"stream VRChat OSC trackers (default {LOOPBACK}:{vrchat_osc.DEFAULT_PORT})")
    g.add_argument("--vrchat-person", type=_person, metavar="ID",
                   help="the person driving the VRChat trackers (default: the first one seen)")
    g.add_argument("--vrchat-trackers", type=_roles, default=vrchat_osc.DEFAULT_ROLES, metavar="LIST",
                   help=f"trackers to send, from {','.join(vrchat_osc.TRACKERS)} (default hips,feet)")
    g.add_argument("--vrchat-height", type=_height, metavar="M",
                   help="the performer's real height in metres: scales the trackers to it")
    g.add_argument("--no-vrchat-head", dest="vrchat_head", action="store_false",
                   help="do not send head alignment (/tracking/trackers/head/...)")
    g.add_argument("--osc", nargs="?", const=(LOOPBACK, plain_osc.DEFAULT_PORT),
                   type=_destination(plain_osc.DEFAULT_PORT), metavar="[HOST:]PORT",
                   help=f"stream every person's joints as plain OSC (default {LOOPBACK}:{plain_osc.DEFAULT_PORT})")
    g.add_argument("--osc-space", choices=plain_osc.SPACES, default="camera",
                   help="plain OSC coordinates: camera (x right, y down, z forward) or floor (y up, 0 on the floor)")
    g.add_argument("--stream-rate", type=_rate, metavar="HZ",
                   help="at most this many bundles a second per stream (default: every frame)")


@dataclass
class StreamOptions:
    """The same choices as the flags, for a GUI or a config file. A None destination turns a stream off."""

    vmc: tuple[str, int] | None = None
    vmc_person: int | str | None = None  # an id, "all", or None for the first person seen
    vrchat: tuple[str, int] | None = None
    vrchat_person: int | None = None
    vrchat_trackers: tuple[str, ...] = vrchat_osc.DEFAULT_ROLES
    vrchat_height: float | None = None
    vrchat_head: bool = True
    osc: tuple[str, int] | None = None
    osc_space: str = "camera"
    stream_rate: float | None = None
    extra: dict = field(default_factory=dict)  # OscStreamer keyword arguments (queue_size, retry_s, ...)


def osc_sinks(options: StreamOptions) -> list[OscStreamer]:
    sinks = []
    if options.vmc:
        person = options.vmc_person
        encoder = vmc_osc.VmcEncoder(None if person == "all" else person, all_people=person == "all")
        sinks.append(OscStreamer("vmc", encoder, *options.vmc, rate=options.stream_rate, **options.extra))
    if options.vrchat:
        encoder = vrchat_osc.VrchatEncoder(options.vrchat_person, options.vrchat_trackers, options.vrchat_height,
                                       options.vrchat_head)
        sinks.append(OscStreamer("vrchat", encoder, *options.vrchat, rate=options.stream_rate, **options.extra))
    if options.osc:
        encoder = plain_osc.PlainEncoder(options.osc_space)
        sinks.append(OscStreamer("osc", encoder, *options.osc, rate=options.stream_rate, **options.extra))
    return sinks


def osc_sinks_from_args(args: argparse.Namespace) -> list[OscStreamer]:
    names = [f for f in StreamOptions.__dataclass_fields__ if f != "extra"]
    return osc_sinks(StreamOptions(**{name: getattr(args, name) for name in names}))
