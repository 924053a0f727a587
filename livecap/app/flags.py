"""The command line's flags that more than one command takes (pipeline, BVH recording, OSC streaming), their
parsers, and the settings and outputs they build. Each value is checked by the same function as the config file
and the desktop app use (livecap.settings), so a bad value gets one message wherever it was given."""

from __future__ import annotations

import argparse
from pathlib import Path

from livecap.errors import LivecapError
from livecap.settings import (DEFAULT_SMOOTHING, PipelineSettings, check_fov_degrees, check_height,
                              check_landmark_model, check_providers, check_smoothing)
from livecap.sinks.bvh.recorder import BvhOptions, BvhSink
from livecap.sinks.bvh.writer import UNIT_SCALE, check_order
from livecap.sinks.osc import plain as plain_osc
from livecap.sinks.osc import vmc as vmc_osc
from livecap.sinks.osc import vrchat as vrchat_osc
from livecap.sinks.osc.options import StreamOptions, osc_sinks
from livecap.sinks.osc.sender import OscStreamer

LOOPBACK = "127.0.0.1"


def _checked(check, name: str):
    """An argparse type from a settings check: its LivecapError becomes the flag's error."""
    def parse(text: str):
        try:
            return check(text)
        except LivecapError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    parse.__name__ = name
    return parse


def add_runtime_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model-dir", help="user model directory (default: $LIVECAP_MODEL_DIR or "
                                            "~/.local/share/livecap/models)")
    parser.add_argument("--providers", type=lambda text: list(check_providers(text) or []),
                        help="ONNX Runtime execution providers in order, e.g. cuda,cpu (default: automatic)")


def add_fit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fov", type=_checked(check_fov_degrees, "degrees"), metavar="DEG", help="horizontal field of view of the camera (default 60)")
    parser.add_argument("--calibration", metavar="FILE", help="OpenCV camera calibration (yml, xml or json with "
                                                              "camera_matrix and optional distortion); overrides --fov")
    parser.add_argument("--smoothing", type=_checked(check_smoothing, "0..1"), default=DEFAULT_SMOOTHING, metavar="0..1",
                        help="temporal smoothing strength: 0 off, 0.5 default, 1 heavy")
    parser.add_argument("--height", type=_checked(check_height, "metres"), metavar="METRES",
                        help="the people's standing height, when known (default: measured from the video)")
    add_hands_option(parser)


def add_hands_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hands", action=argparse.BooleanOptionalAction, default=None,
                        help="hands and fingers for every person: 21 points per hand and 30 finger bones (default: "
                             "on in the accurate preset, off in the others)")


def add_refine_options(parser: argparse.ArgumentParser) -> None:
    """A file's two passes (livecap.refine), for `process` and `batch`."""
    parser.add_argument("--causal", action="store_true", help="one pass, exactly as `livecap run` does it live, "
                        "instead of refining the whole take after capture (two passes)")
    parser.add_argument("--landmark-model", type=_checked(check_landmark_model, "MODEL"), metavar="MODEL",
                        help="the landmark model: lite, full or heavy (default: the preset's; accurate refines with "
                             "heavy)")


def pipeline_settings(args: argparse.Namespace) -> PipelineSettings:
    """The pipeline's settings from a command's flags (whose defaults the config file set); a take is refined
    where the command has --causal and it is not given."""
    return PipelineSettings(preset=getattr(args, "preset", "balanced"), smoothing=args.smoothing, fov=args.fov, calibration=args.calibration,
                            height=args.height, providers=args.providers, model_dir=args.model_dir,
                            hands=getattr(args, "hands", None), landmark_model=getattr(args, "landmark_model", None),
                            refine=getattr(args, "causal", True) is False)


def positive_int(text: str) -> int:
    if not (text.strip().isdigit() and int(text) > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of frames: give 1 or more")
    return int(text)


def size_argument(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0):
        raise argparse.ArgumentTypeError(f"bad size {text!r}: give WIDTHxHEIGHT, e.g. 1280x720")
    return int(width), int(height)


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
    g.add_argument("--vrchat-height", type=_checked(check_height, "metres"), metavar="M",
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


def osc_sinks_from_args(args: argparse.Namespace) -> list[OscStreamer]:
    names = [f for f in StreamOptions.__dataclass_fields__ if f != "extra"]
    return osc_sinks(StreamOptions(**{name: getattr(args, name) for name in names}))


def _order_argument(text: str) -> str:
    try:
        return check_order(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _number_argument(low: float, strict: bool):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not (value > low if strict else value >= low):
            raise argparse.ArgumentTypeError(f"must be a number {'above' if strict else 'of at least'} {low:g}, "
                                             f"not {text!r}")
        return value
    return parse


def add_bvh_arguments(parser: argparse.ArgumentParser) -> None:
    """The recording flags, shared by `livecap process` and `livecap run`."""
    group = parser.add_argument_group("BVH recording")
    group.add_argument("--bvh", metavar="DIR", help="record every tracked person to DIR/<take>_person<id>.bvh")
    group.add_argument("--bvh-units", choices=list(UNIT_SCALE), default="cm",
                       help="cm (default; most tools) or m (Blender at scale 1)")
    group.add_argument("--bvh-order", type=_order_argument, default="ZXY", metavar="ORDER",
                       help="rotation channel order of every joint (default ZXY)")
    group.add_argument("--bvh-fps", type=_number_argument(0, True), default=30.0, metavar="FPS",
                       help="frame rate of the file; capture times are resampled to it (default 30)")
    group.add_argument("--bvh-min-seconds", type=_number_argument(0, False), default=1.0, metavar="S",
                       help="people tracked for less get no file (default 1)")
    group.add_argument("--bvh-take", metavar="NAME", help="file name prefix (default: input name and start time)")


def bvh_sinks_from_args(args: argparse.Namespace) -> list[BvhSink]:
    """The BVH sink the flags ask for; none without --bvh."""
    if not getattr(args, "bvh", None):
        return []
    return [BvhSink(BvhOptions(Path(args.bvh), args.bvh_units, args.bvh_order, args.bvh_fps, args.bvh_min_seconds,
                               take=args.bvh_take))]
