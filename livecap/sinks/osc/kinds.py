"""The stream kinds: one entry per protocol, and the only place a kind is named. The command line's flags
(livecap.app.flags), the config file (livecap.app.config) and the desktop app's stream rows all read this table,
so a new protocol is one StreamKind here plus its encoder (FrameResult -> packets, see livecap.sinks.osc).

A kind's name is its flag (`--vmc [HOST:]PORT`), its config section (`[vmc] destination = "HOST:PORT"`) and its
sink's name in status lines. Each of its Settings is one more flag (`--vmc-person`) and one key in that section
(`person`), checked by the same function wherever it is given. A kind that follows one person has a "person"
setting, which the desktop app sets to the person chosen in its table. `[streaming] rate` (`--stream-rate`)
applies to every kind. The consumers take the table as an argument (default KINDS), so a copy with one more entry
reaches the flags, the config file and the app without any other change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from livecap.errors import LivecapError
from livecap.settings import check_height
from livecap.sinks.osc import plain, vmc, vrchat
from livecap.sinks.osc.sender import OscStreamer

LOOPBACK = "127.0.0.1"
PERSON = "person"  # the setting the desktop app sets on a kind that follows one person
STREAMING_SECTION = "streaming"  # the config section of the settings every kind shares


@dataclass(frozen=True)
class Setting:
    """One choice of a stream: a flag and a config key, the check that turns its text into a value, its help."""

    key: str  # the config key, in the kind's section
    flag: str  # the command-line flag, e.g. --vmc-person; an on/off setting's flag turns it off: --no-vrchat-head
    parse: Callable[[str], object] | None  # text -> value; raises LivecapError naming the fix; None: text as it is
    help: str
    default: object = None
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    switch: bool = False  # on/off, on by default: the flag turns it off, the config key takes true or false

    @property
    def dest(self) -> str:
        """The name its value goes by among the flags' values (argparse's dest): --no-vrchat-head -> vrchat_head."""
        name = self.flag.removeprefix("--")
        return (name.removeprefix("no-") if self.switch else name).replace("-", "_")


@dataclass(frozen=True)
class StreamKind:
    name: str  # flag, config section and sink name
    title: str  # the desktop app's row
    default_port: int
    help: str  # what the kind's flag does
    encoder: Callable[[Mapping[str, object]], object]  # {setting key: value} -> an encoder (livecap.sinks.osc)
    follows_person: bool = False  # sends one chosen person (its "person" setting), not everyone
    settings: tuple[Setting, ...] = ()

    def __post_init__(self):
        if self.follows_person and PERSON not in (s.key for s in self.settings):
            raise ValueError(f"stream kind {self.name} follows one person but has no {PERSON!r} setting")

    def destination(self, text: str) -> tuple[str, int]:
        return parse_destination(text, self.default_port)

    def values_from(self, given: Mapping[str, object]) -> dict[str, object]:
        """This kind's settings by key from values by dest (the flags', the config file's); unset ones (absent or
        None) take their defaults."""
        return {s.key: s.default if given.get(s.dest) is None else given[s.dest] for s in self.settings}

    def sink(self, destination: tuple[str, int], values: Mapping[str, object] | None = None,
             rate: float | None = None) -> OscStreamer:
        """A ready-to-start stream to (host, port); values: settings by key, the others take their defaults."""
        chosen = {s.key: s.default for s in self.settings} | dict(values or {})
        return OscStreamer(self.name, self.encoder(chosen), *destination, rate=rate)


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
        raise LivecapError(f"bad port in {text!r}: give [HOST:]PORT with a port from 1 to 65535")
    return host or LOOPBACK, int(port)


def check_person(text: str) -> int:
    if not str(text).isdigit():
        raise LivecapError(f"bad person {text!r}: give a person id")
    return int(text)


def check_person_or_all(text: str) -> int | str:
    if text == "all":
        return "all"
    if not str(text).isdigit():
        raise LivecapError(f"bad person {text!r}: give a person id or 'all'")
    return int(text)


def check_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 1000:
        raise LivecapError(f"bad rate {text!r}: give frames per second, more than 0 and at most 1000")
    return value


def check_trackers(text: str) -> tuple[str, ...]:
    roles = tuple(r.strip() for r in text.split(",") if r.strip())
    if not roles or any(r not in vrchat.TRACKERS for r in roles):
        raise LivecapError(f"bad trackers {text!r}: choose from {','.join(vrchat.TRACKERS)}")
    return roles


def _vmc_encoder(values: Mapping[str, object]) -> vmc.VmcEncoder:
    person = values[PERSON]
    return vmc.VmcEncoder(None if person == "all" else person, all_people=person == "all",
                          blendshapes=values["blendshapes"])


KINDS: tuple[StreamKind, ...] = (
    StreamKind("vmc", "VMC", vmc.DEFAULT_PORT, "stream VMC protocol to a receiver", _vmc_encoder,
               follows_person=True, settings=(
                   Setting(PERSON, "--vmc-person", check_person_or_all, "the person the VMC avatar follows (default: "
                           "the first one seen); 'all': one port each, counting up from the VMC port",
                           metavar="ID|all"),
                   Setting("blendshapes", "--vmc-blendshapes", None, "the blendshape names sent with faces on: "
                           "vrm0 (VRM 0.x presets: Blink_L, A, Joy...), vrm1 (blinkLeft, aa, happy...) or arkit "
                           "(eyeBlinkLeft, jawOpen...: perfect sync)", default="vrm0",
                           choices=vmc.BLENDSHAPE_NAMES))),
    StreamKind("vrchat", "VRChat", vrchat.DEFAULT_PORT, "stream VRChat OSC trackers",
               lambda v: vrchat.VrchatEncoder(v[PERSON], v["trackers"], v["height"], v["head"]),
               follows_person=True, settings=(
                   Setting(PERSON, "--vrchat-person", check_person,
                           "the person driving the VRChat trackers (default: the first one seen)", metavar="ID"),
                   Setting("trackers", "--vrchat-trackers", check_trackers,
                           f"trackers to send, from {','.join(vrchat.TRACKERS)} (default hips,feet)",
                           default=vrchat.DEFAULT_ROLES, metavar="LIST"),
                   Setting("height", "--vrchat-height", check_height,
                           "the performer's real height in metres: scales the trackers to it", metavar="M"),
                   Setting("head", "--no-vrchat-head", None, "do not send head alignment (/tracking/trackers/head/...)",
                           default=True, switch=True))),
    StreamKind("osc", "OSC", plain.DEFAULT_PORT, "stream every person's joints as plain OSC",
               lambda v: plain.PlainEncoder(v["space"]), settings=(
                   Setting("space", "--osc-space", None, "plain OSC coordinates: camera (x right, y down, z forward) "
                           "or floor (y up, 0 on the floor)", default="camera", choices=plain.SPACES),)),
)

# every kind's: [streaming] rate, --stream-rate
STREAM_RATE = Setting("rate", "--stream-rate", check_rate,
                      "at most this many bundles a second per stream (default: every frame)", metavar="HZ")


def stream_sinks(given: Mapping[str, object], kinds: tuple[StreamKind, ...] = KINDS) -> list[OscStreamer]:
    """The streams asked for, from values by dest (the flags'): each kind whose destination is set."""
    rate = given.get(STREAM_RATE.dest)
    return [kind.sink(given[kind.name], kind.values_from(given), rate) for kind in kinds if given.get(kind.name)]


def config_sections(kinds: tuple[StreamKind, ...] = KINDS) -> dict[str, dict[str, str]]:
    """The config file's stream sections: section -> key -> dest."""
    sections = {kind.name: {"destination": kind.name, **{s.key: s.dest for s in kind.settings}} for kind in kinds}
    return {**sections, STREAMING_SECTION: {STREAM_RATE.key: STREAM_RATE.dest}}


def stream_dests(kinds: tuple[StreamKind, ...] = KINDS) -> set[str]:
    """Every dest the streams take their values from."""
    return {dest for keys in config_sections(kinds).values() for dest in keys.values()}
