"""The `livecap` command line."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from typing import NoReturn

from livecap import __version__
from livecap.errors import LivecapError, OutputError, Terminated
from livecap.settings import PRESETS, PipelineSettings, check_smoothing
from livecap.sinks.osc.kinds import KINDS, StreamKind
from livecap.app import messages
from livecap.app.batch import add_batch_parser
from livecap.app.flags import (add_bvh_arguments, add_capture_options, add_face_option, add_fit_options,
                               add_hands_option, add_osc_arguments, add_refine_options, add_runtime_options, app_start,
                               bvh_sinks_from_args, capture_request, checked_type, osc_sinks_from_args,
                               pipeline_settings, positive_int, unset_defaults)

log = logging.getLogger("livecap")
PRESET_HELP = "speed against accuracy: fast, balanced (default) or accurate"


def build_parser(kinds: tuple[StreamKind, ...] = KINDS) -> argparse.ArgumentParser:
    """kinds: the stream kinds the commands offer (livecap.sinks.osc.kinds)."""
    parser = argparse.ArgumentParser(prog="livecap", description="Real-time multi-person 3D motion capture "
                                                                 "from one camera.")
    parser.add_argument("--version", action="version", version=f"livecap {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="more messages")
    add_config_option(parser, None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = commands.add_parser("process", help="find every person's 2D + 3D pose in a video, image or image folder")
    p.add_argument("input", help="video file, image, or folder of images")
    p.add_argument("--out", required=True, help="results file (.jsonl)")
    p.add_argument("--preset", default="balanced", choices=list(PRESETS), help=PRESET_HELP)
    p.add_argument("--stills", action="store_true", help="treat every image of a folder on its own")
    p.add_argument("--max-frames", type=positive_int, metavar="N", help="stop after N frames")
    add_fit_options(p)
    add_refine_options(p)
    p.add_argument("--no-progress", dest="progress", action="store_false", default=None,
                   help="no progress bar")
    add_runtime_options(p)
    add_osc_arguments(p, kinds)
    add_bvh_arguments(p)

    p = commands.add_parser("run", help="run live from a camera, a stream or a file, without a window")
    p.add_argument("--source", default="0", help="camera index, video file, image folder or RTSP/HTTP URL "
                                                 "(default: camera 0)")
    p.add_argument("--preset", default="balanced", choices=list(PRESETS), help=PRESET_HELP)
    p.add_argument("--out", help="also write JSONL results to this file")
    add_capture_options(p)
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument("--max-frames", type=positive_int, metavar="N", help="stop after N captured frames")
    add_fit_options(p)
    add_runtime_options(p)
    add_osc_arguments(p, kinds)
    add_bvh_arguments(p)

    add_batch_parser(commands, PRESET_HELP)

    commands.add_parser("cameras", help="list the cameras attached and the mode each delivers")

    p = commands.add_parser("gui", help="the desktop app (also what `livecap` alone opens)",
                            description="The flags and the config file set the app's initial choices (a stream's "
                                        "destination switches it on; --bvh is the recording folder); what neither "
                                        "sets is the app's own, saved when it closes.")
    p.add_argument("--source", dest="start_source", metavar="SOURCE",
                   help="open this camera index, video file or URL and start at once")
    p.add_argument("--settings-dir", metavar="DIR", help="where the app keeps its settings (default: "
                                                         "$LIVECAP_CONFIG_DIR or the user config folder)")
    p.add_argument("--preset", choices=list(PRESETS), help=PRESET_HELP)
    add_capture_options(p)
    add_fit_options(p)
    add_runtime_options(p)
    add_osc_arguments(p, kinds)
    add_bvh_arguments(p)
    unset_defaults(p, keep=("start_source", "settings_dir"))
    p.set_defaults(source=None)  # the config file's [live] source: chosen in the app, not started

    p = commands.add_parser("bvh", help="inspect or repair BVH files, or import a take into Blender")
    p.add_argument("action", choices=["info", "repair", "blender"],
                   help="info: joints, frames, timing, units guess; repair: complete a recording cut off by a crash; "
                        "blender: import every file into one Blender scene, in metres, people in step")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--blender", metavar="PATH", help="with blender: the Blender executable (default: blender)")
    p.add_argument("--save", metavar="SCENE.blend", help="with blender: import headless and save the scene here "
                                                         "(default: open Blender's window)")

    p = commands.add_parser("config", help="show every setting of the configuration file and its current value")
    p.add_argument("--show", action="store_true", help="print the settings as TOML (the default action)")

    commands.add_parser("doctor", help="everything a bug report needs: Python, packages, models, providers, "
                                       "cameras, display")

    p = commands.add_parser("models", help="list or verify the models")
    p.add_argument("action", choices=["list", "verify"])
    p.add_argument("--model-dir", help="user model directory")

    p = commands.add_parser("bench", help="measure per-stage milliseconds and frames per second")
    p.add_argument("--source", action="append", help="video file or folder (repeatable; required but with --mocap)")
    p.add_argument("--preset", action="append", choices=list(PRESETS), help="preset (repeatable; default all)")
    p.add_argument("--frames", type=int, help="frames measured per run (default 100; with --mocap: per take, "
                                              "default 150)")
    p.add_argument("--json", help="also write the figures to this JSON file")
    p.add_argument("--mediapipe", metavar="PYTHON", help="also time MediaPipe's legacy Pose (with --hands: Holistic) on "
                                                         "each source, with this interpreter (one with "
                                                         "mediapipe==0.10.14 installed)")
    p.add_argument("--soak", type=float, metavar="SECONDS", help="instead: memory, threads and open files over a "
                                                                 "paced run this long (the first --source, looped) "
                                                                 "and 20 start/stop cycles")
    p.add_argument("--fitting", action="store_true", help="measure the skeleton fit instead: milliseconds per "
                                                          "person, JIT warm-up, jitter and lag with and without "
                                                          "smoothing")
    p.add_argument("--mocap", metavar="DIR", help="instead: the skeleton fit against real motion capture, from a "
                                                  "folder of BVH takes (DIR/<take>.bvh as in livecap.bench.mocap)")
    p.add_argument("--refine", action="store_true", help="instead: what refining a take after capture does, against "
                                                         "the live pass of the same perception (agreement, jitter, "
                                                         "lag, foot skate, gaps, landmark noise)")
    p.add_argument("--osc", metavar="RESULTS", help="instead: replay a results file at its own frame rate through the "
                                                    "VMC, VRChat and plain OSC streams to receivers on loopback for "
                                                    "--seconds, and report what was sent, received and dropped")
    p.add_argument("--seconds", type=float, default=30.0, help="with --osc: how long to stream (default 30)")
    p.add_argument("--smoothing", type=checked_type(check_smoothing, "0..1"), default=0.5, metavar="0..1",
                   help="with --fitting: the strength compared with none (default 0.5)")
    add_hands_option(p)
    add_face_option(p)
    add_runtime_options(p)
    for command in _commands(parser).values():  # `livecap process X --config FILE` as well as before the command
        add_config_option(command, argparse.SUPPRESS)  # not given there: the value before the command stays
    return parser


def add_config_option(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument("--config", metavar="FILE", default=default,
                        help="settings file (default: $LIVECAP_CONFIG or the user config folder's livecap/config.toml)")


def _cmd_process(args) -> int:
    from livecap.app.process import process

    streams, recorders = osc_sinks_from_args(args), bvh_sinks_from_args(args)
    summary = process(args.input, args.out, pipeline_settings(args), stills=args.stills, max_frames=args.max_frames,
                      progress=args.progress, sinks=recorders + list(streams))
    print(summary.line(args.out, [path for sink in recorders for path in sink.files] if recorders else None))
    dropped = {sink.name: sink.dropped for sink in summary.status.sinks}
    for stream in streams:
        s = stream.stats()
        print(f"{stream.name}: {s.sent} of {s.frames} frames sent, {dropped.get(stream.name, 0)} dropped, "
              f"{s.failed} failed ({s.status})")
    _fail_on_failed_outputs(summary.status)
    return 0


def _cmd_batch(args) -> int:
    from livecap.app.batch import run_batch
    from livecap.solver_cache import compile_notice

    # said here, once: the local workers, which each compile the solver on a first run, log warnings only; Ray's
    # workers compile on their own machines, with their own caches
    notice = None if args.ray else compile_notice(pipeline_settings(args).hands_on)
    if notice:
        print(f"livecap: {notice}", file=sys.stderr, flush=True)
    return run_batch(args)


def _cmd_run(args) -> int:
    from livecap.app.run import run_live
    from livecap.engine import EngineConfig
    from livecap.sinks.jsonl import JsonlSink

    config = EngineConfig(source=args.source, pipeline=pipeline_settings(args), paced=args.paced,
                          request=capture_request(args), max_frames=args.max_frames)
    sinks = ([JsonlSink(args.out)] if args.out else []) + bvh_sinks_from_args(args) + list(osc_sinks_from_args(args))
    _fail_on_failed_outputs(run_live(config, sinks, args.duration))
    return 0


def _fail_on_failed_outputs(status) -> None:
    """An output that failed mid-run was stopped while the others went on; the command still ends as failed."""
    if status.failed_outputs:
        raise OutputError(messages.failed_outputs(status))


def _cmd_cameras(args) -> int:
    from livecap.sources import list_cameras

    cameras = list_cameras()
    if not cameras:
        print("no camera found: plug one in, close programs that use it, and on Linux check that your user may "
              "read /dev/video* (group 'video')")
        return 1
    for index, mode in cameras:
        print(f"camera {index}: {mode}")
    return 0


def _cmd_gui(args) -> int:
    from livecap.gui import main as gui_main

    return gui_main(args.start_source, args.settings_dir, app_start(args))


def _cmd_bvh(args) -> int:
    from livecap.sinks.bvh.tool import info_text, repair_text

    if args.action == "blender":
        from livecap.sinks.bvh.blender import import_into_blender

        print(import_into_blender(args.files, args.blender, args.save))
        return 0
    for path in args.files:
        print(info_text(path) if args.action == "info" else repair_text(path))
    return 0


def _cmd_models(args) -> int:
    from livecap.models.catalog import ModelCatalog

    catalog = ModelCatalog(args.model_dir)
    bad = 0
    print(f"shipped models: {catalog.shipped_dir}\nuser models:    {catalog.user_dir}")
    for name in catalog.names():
        status = catalog.status(name) if args.action == "verify" else None
        entry = catalog.entry(name)
        size = entry.path.stat().st_size if entry.path.exists() else 0
        state = status.state if status else ("present" if size else "missing")
        print(f"  {name:32s} {entry.role:10s} {size / 1e6:7.1f} MB  {state:10s} {entry.path}")
        if status and not status.usable:
            bad += 1
            print(f"    {status.problem()}")
    if args.action == "verify":
        print("all models verified" if not bad else f"{bad} model(s) failed verification")
    return 1 if bad else 0


def _cmd_bench(args) -> int:
    if args.mocap:
        from livecap.bench.mocap import main as bench_mocap
        from livecap.bench.refine import PROFILES, bench_mocap_refined, format_mocap_comparison

        rows = bench_mocap(args.mocap, max_frames=args.frames or 150)
        print("\nlive and refined fits, with the landmark noise measured on each dev video (livecap bench --refine):")
        print(format_mocap_comparison(bench_mocap_refined(args.mocap, list(PROFILES.values()),
                                                          tuple(dict.fromkeys(r.take for r in rows)),
                                                          max_frames=args.frames or 150)))
        return 0
    if args.osc:
        from livecap.bench.osc import report_lines, run

        print("\n".join(report_lines(run(args.osc, args.seconds))))
        return 0
    if not args.source:
        raise SystemExit("livecap bench: --source is required (a video file or folder), or use --mocap DIR or --osc RESULTS")
    if args.refine:
        from livecap.bench.refine import bench_refine, format_figures

        print(format_figures(bench_refine(args.source, PipelineSettings(preset=(args.preset or ["balanced"])[0],
                                                                        model_dir=args.model_dir,
                                                                        providers=args.providers))))
        return 0
    if args.fitting:
        return _bench_fitting(args)
    if args.soak:
        from livecap.bench.soak import soak

        print("\n".join(soak(args.source[0], args.soak, (args.preset or ["balanced"])[0]).lines()))
        return 0
    from livecap.bench.engine import format_table, run_bench

    providers = tuple(args.providers) if args.providers else None
    settings = [PipelineSettings(preset=preset, model_dir=args.model_dir, providers=providers, hands=args.hands,
                                 face=args.face)
                for preset in args.preset or PRESETS]
    rows = run_bench(args.source, settings, args.frames or 100, args.json, args.mediapipe)
    print(format_table(rows))
    return 0


def _bench_fitting(args) -> int:
    import dataclasses
    import json

    from livecap.bench.fitting import bench_fitting, format_fitting, warmup_seconds

    warmup = warmup_seconds()
    settings = PipelineSettings(preset=(args.preset or ["balanced"])[0], smoothing=args.smoothing,
                                model_dir=args.model_dir, providers=tuple(args.providers) if args.providers else None,
                                hands=args.hands)
    rows = bench_fitting(args.source, settings)
    print(format_fitting(rows, warmup, args.smoothing))
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"warmup_compile_s": warmup[0], "warmup_cached_s": warmup[1], "smoothing": args.smoothing,
                       "rows": [dataclasses.asdict(r) for r in rows]}, out, indent=2)
    return 0


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def _references(commands: dict[str, argparse.ArgumentParser]) -> list[argparse.ArgumentParser]:
    """The commands whose flags check the config file's values: `run` has the most, `process` a file's own."""
    return [commands["run"], commands["process"]]


def _configure(parser: argparse.ArgumentParser, argv: list[str], kinds: tuple[StreamKind, ...] = KINDS) -> Path:
    """The configuration file's values become the defaults of the commands that take them."""
    from livecap.app import config

    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--config")
    given = early.parse_known_args(argv)[0].config
    path = Path(given) if given else config.default_path()
    commands = _commands(parser)
    settings = config.settings_from(config.read_config(path, required=bool(given)), path, _references(commands),
                                    kinds)
    config.apply(settings, [commands[name] for name in ("run", "process", "batch", "gui") if name in commands])
    return path


def _cmd_config(args) -> int:
    from livecap.app import config

    print(config.show(_references(_commands(args.parser)), args.config_path), end="")
    return 0


def _cmd_doctor(args) -> int:
    from livecap.app.doctor import report

    print(report(args.config_path))
    return 0


COMMANDS = {"process": _cmd_process, "batch": _cmd_batch, "run": _cmd_run, "cameras": _cmd_cameras,
            "models": _cmd_models, "bench": _cmd_bench, "bvh": _cmd_bvh, "config": _cmd_config, "doctor": _cmd_doctor,
            "gui": _cmd_gui}


def _terminate(signum, frame) -> None:
    raise Terminated()


def entry() -> None:
    """The `livecap` command, `python -m livecap` and the bundle."""
    sys.exit(main(leave_at_once=True))


def _leave(code: int) -> NoReturn:
    """Ends the process without the interpreter's teardown. Every output is closed and complete by now; tearing
    down Numba's and ONNX Runtime's native state took 0.3-0.8 s more, and Ctrl-C is promised to end a run within a
    second."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: list[str] | None = None, leave_at_once: bool = False) -> int:
    """`leave_at_once`: an interrupted `run` or `process` ends the process itself (_leave) instead of returning."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    try:
        config_path = _configure(parser, argv)
    except LivecapError as exc:
        print(f"livecap: error: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    args.parser, args.config_path = parser, config_path
    if args.command is None:  # `livecap` alone opens the desktop app
        args = parser.parse_args([*argv, "gui"])
        args.parser, args.config_path = parser, config_path
    messages.configure(args.command, args.verbose)
    if args.command in ("run", "process"):
        signal.signal(signal.SIGTERM, _terminate)
    try:
        # these need no models; the app reports a missing ONNX Runtime in its window
        if args.command not in ("bvh", "config", "doctor", "gui"):
            from livecap.models.runtime import import_onnxruntime

            import_onnxruntime()
        return COMMANDS[args.command](args)
    except LivecapError as exc:
        print(f"livecap: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print("livecap: interrupted; results written so far are kept", file=sys.stderr)
        code = 143 if isinstance(exc, Terminated) else 130
        if leave_at_once and args.command in ("run", "process"):  # not batch: Ray's own exit must run
            _leave(code)
        return code
