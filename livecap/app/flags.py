"""The command line's flags that more than one command takes (pipeline, capture, BVH recording, OSC streaming), their
parsers, and the settings and outputs they build. Each value is checked by the same function as the config file
and the desktop app use (livecap.settings; a stream's, livecap.sinks.osc.kinds), so a bad value gets one message
wherever it was given. The stream flags come from the table of stream kinds: no kind is named here."""

from __future__ import annotations

import argparse
from pathlib import Path

from livecap.errors import LivecapError
from livecap.settings import (DEFAULT_SMOOTHING, PipelineSettings, check_calibration, check_fov_degrees,
                              check_gpu_precision, check_height, check_landmark_model, check_model_dir, check_providers,
                              check_smoothing)
from livecap.sinks.bvh.recorder import BvhOptions, BvhSink
from livecap.sinks.bvh.writer import UNIT_SCALE, check_order
from livecap.sinks.osc.kinds import KINDS, LOOPBACK, STREAM_RATE, Setting, StreamKind, stream_dests, stream_sinks
from livecap.sinks.osc.sender import OscStreamer


def checked_type(check, name: str):
    """An argparse type from a value's check: its LivecapError becomes the flag's error."""
    def parse(text: str):
        try:
            return check(text)
        except LivecapError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    parse.__name__ = name
    return parse


def add_runtime_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model-dir", type=checked_type(check_model_dir, "folder"),
                        help="user model directory (default: $LIVECAP_MODEL_DIR or ~/.local/share/livecap/models)")
    parser.add_argument("--providers", type=lambda text: list(check_providers(text) or []),
                        help="ONNX Runtime execution providers in order, e.g. cuda,cpu (default: automatic)")
    parser.add_argument("--gpu-precision", type=checked_type(check_gpu_precision, "auto|float32"),
                        help="auto (default): a model's float16 variant where CUDA runs it and one is installed "
                             "(tools/fp16_models.py); float32: never")
    parser.add_argument("--detect-ahead", action=argparse.BooleanOptionalAction, default=None,
                        help="run the next frame's scheduled people detection on a thread of its own beside this "
                             "frame's landmarks (same results; default: with 4 or more cores)")


def add_fit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fov", type=checked_type(check_fov_degrees, "degrees"), metavar="DEG",
                        help="horizontal field of view of the camera (default 60)")
    parser.add_argument("--calibration", type=checked_type(check_calibration, "FILE"), metavar="FILE",
                        help="OpenCV camera calibration (yml, xml or json with camera_matrix and optional "
                             "distortion); overrides --fov")
    parser.add_argument("--smoothing", type=checked_type(check_smoothing, "0..1"), default=DEFAULT_SMOOTHING,
                        metavar="0..1", help="temporal smoothing strength: 0 off, 0.5 default, 1 heavy")
    parser.add_argument("--height", type=checked_type(check_height, "metres"), metavar="METRES",
                        help="the people's standing height, when known (default: measured from the video)")
    add_hands_option(parser)
    add_face_option(parser)


def add_face_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--face", action=argparse.BooleanOptionalAction, default=None,
                        help="a face for every person: 478 points, head rotation and expressions (default: on in the "
                             "accurate preset, off in the others)")


def add_hands_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hands", action=argparse.BooleanOptionalAction, default=None,
                        help="hands and fingers for every person: 21 points per hand and 30 finger bones (default: "
                             "on in the accurate preset, off in the others)")


def add_refine_options(parser: argparse.ArgumentParser) -> None:
    """A file's two passes (livecap.refine), for `process` and `batch`."""
    parser.add_argument("--causal", action="store_true", help="one pass, exactly as `livecap run` does it live, "
                        "instead of refining the whole take after capture (two passes)")
    parser.add_argument("--landmark-model", type=checked_type(check_landmark_model, "MODEL"), metavar="MODEL",
                        help="the landmark model: lite, full or heavy (default: the preset's; accurate refines with "
                             "heavy)")


def add_capture_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--paced", action="store_true", help="play a file at its frame rate as a camera would deliver "
                                                             "it, dropping frames that cannot be processed in time")
    parser.add_argument("--camera-size", type=size_argument, metavar="WxH", help="ask the camera for this resolution")
    parser.add_argument("--camera-fps", type=_number_argument(0, True), metavar="FPS",
                        help="ask the camera for this frame rate")
    parser.add_argument("--no-mjpg", dest="mjpg", action="store_false", help="do not ask the camera for MJPG")


def unset_defaults(parser: argparse.ArgumentParser, keep: tuple[str, ...] = ()) -> None:
    """Every flag's default becomes None, 'not set', for a command whose own saved choices fill the rest (the
    desktop app); the config file's values still become the defaults over it."""
    parser.set_defaults(**{action.dest: None for action in parser._actions if action.dest not in ("help", *keep)})


def pipeline_settings(args: argparse.Namespace) -> PipelineSettings:
    """The pipeline's settings from a command's flags (whose defaults the config file set); a preset or smoothing
    left unset (the desktop app's flags) is the default. A file's take is refined after capture where the command
    refines (it has --causal) and it is not asked for causal, nor stills (each image on its own: one pass)."""
    preset, smoothing, providers = getattr(args, "preset", None), args.smoothing, args.providers
    refine = getattr(args, "causal", True) is False and not getattr(args, "stills", False)
    return PipelineSettings(preset=preset or "balanced",
                                smoothing=DEFAULT_SMOOTHING if smoothing is None else smoothing,
                                fov=args.fov, calibration=args.calibration, height=args.height,
                                providers=tuple(providers) if providers else None, model_dir=args.model_dir,
                                hands=getattr(args, "hands", None), face=getattr(args, "face", None),
                                landmark_model=getattr(args, "landmark_model", None),
                                gpu_precision=getattr(args, "gpu_precision", None) or "auto", refine=refine,
                                detect_ahead=getattr(args, "detect_ahead", None))


def capture_request(args: argparse.Namespace):
    from livecap.sources import CaptureRequest

    width, height = args.camera_size or (None, None)
    return CaptureRequest(width, height, args.camera_fps, args.mjpg is not False)


def app_start(args: argparse.Namespace, kinds: tuple[StreamKind, ...] = KINDS):
    """What `livecap gui`'s flags and the config file set for the desktop app (livecap.gui.settings.AppStart):
    that command's flags default to None, so whatever neither set is None and the app keeps its saved choice."""
    from livecap.gui.settings import AppStart

    recording = {"units": args.bvh_units, "order": args.bvh_order, "fps": args.bvh_fps,
                 "min_seconds": args.bvh_min_seconds, "take": args.bvh_take}
    streams = {dest: getattr(args, dest, None) for dest in stream_dests(kinds)}
    return AppStart(pipeline_settings(args), args.preset, args.smoothing, args.hands, args.face, args.source,
                    args.paced is not False, capture_request(args), args.bvh,
                    {key: value for key, value in recording.items() if value is not None},
                    {dest: value for dest, value in streams.items() if value is not None}, kinds)


def positive_int(text: str) -> int:
    if not (text.strip().isdigit() and int(text) > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of frames: give 1 or more")
    return int(text)


def size_argument(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0):
        raise argparse.ArgumentTypeError(f"bad size {text!r}: give WIDTHxHEIGHT, e.g. 1280x720")
    return int(width), int(height)


def _add_setting(group, setting: Setting) -> None:
    if setting.switch:
        group.add_argument(setting.flag, dest=setting.dest, action="store_false", help=setting.help)
        return
    group.add_argument(setting.flag, type=checked_type(setting.parse, setting.metavar) if setting.parse else None,
                       default=setting.default, choices=setting.choices, metavar=setting.metavar, help=setting.help)


def add_osc_arguments(parser: argparse.ArgumentParser, kinds: tuple[StreamKind, ...] = KINDS) -> None:
    """A flag for each stream kind and each of its settings (livecap.sinks.osc.kinds), then --stream-rate."""
    group = parser.add_argument_group("streaming over OSC (docs/osc.md)")
    for kind in kinds:
        group.add_argument(f"--{kind.name}", nargs="?", const=(LOOPBACK, kind.default_port),
                           type=checked_type(kind.destination, "[HOST:]PORT"), metavar="[HOST:]PORT",
                           help=f"{kind.help} (default {LOOPBACK}:{kind.default_port})")
        for setting in kind.settings:
            _add_setting(group, setting)
    _add_setting(group, STREAM_RATE)


def osc_sinks_from_args(args: argparse.Namespace, kinds: tuple[StreamKind, ...] = KINDS) -> list[OscStreamer]:
    return stream_sinks(vars(args), kinds)


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
