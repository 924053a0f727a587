"""The `livecap` command line."""

from __future__ import annotations

import argparse
import logging
import sys

from livecap import __version__
from livecap.errors import LivecapError
from livecap.presets import PRESETS
from livecap.sinks.bvh import add_bvh_arguments, bvh_sinks_from_args

log = logging.getLogger("livecap")


def _add_runtime_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model-dir", help="user model directory (default: $LIVECAP_MODEL_DIR or "
                                            "~/.local/share/livecap/models)")
    parser.add_argument("--providers", type=lambda s: [p for p in s.split(",") if p],
                        help="ONNX Runtime execution providers in order, e.g. cuda,cpu (default: automatic)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="livecap", description="Real-time multi-person 3D motion capture "
                                                                 "from one camera.")
    parser.add_argument("--version", action="version", version=f"livecap {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="more messages")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = commands.add_parser("process", help="find every person's 2D + 3D pose in a video, image or image folder")
    p.add_argument("input", help="video file, image, or folder of images")
    p.add_argument("--out", required=True, help="results file (.jsonl)")
    p.add_argument("--preset", default="balanced", choices=list(PRESETS))
    p.add_argument("--stills", action="store_true", help="treat every image of a folder on its own")
    p.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames")
    p.add_argument("--fov", type=float, metavar="DEG", help="horizontal field of view of the camera (default 60)")
    p.add_argument("--no-progress", dest="progress", action="store_false", default=None,
                   help="no progress bar")
    _add_runtime_options(p)
    add_bvh_arguments(p)

    p = commands.add_parser("bvh", help="inspect or repair a BVH file")
    p.add_argument("action", choices=["info", "repair"], help="info: joints, frames, timing, units guess; "
                                                              "repair: complete a recording cut off by a crash")
    p.add_argument("files", nargs="+", metavar="FILE")

    p = commands.add_parser("models", help="list or verify the models")
    p.add_argument("action", choices=["list", "verify"])
    p.add_argument("--model-dir", help="user model directory")

    p = commands.add_parser("bench", help="measure per-stage milliseconds and frames per second")
    p.add_argument("--source", action="append", required=True, help="video file or folder (repeatable)")
    p.add_argument("--preset", action="append", choices=list(PRESETS), help="preset (repeatable; default all)")
    p.add_argument("--frames", type=int, default=100, help="frames measured per run (default 100)")
    p.add_argument("--json", help="also write the figures to this JSON file")
    _add_runtime_options(p)
    return parser


def _cmd_process(args) -> int:
    from livecap.process import ProcessOptions, process

    summary = process(ProcessOptions(input=args.input, out=args.out, preset=args.preset, stills=args.stills,
                                     max_frames=args.max_frames, model_dir=args.model_dir,
                                     providers=args.providers, fov=args.fov, progress=args.progress,
                                     sinks=bvh_sinks_from_args(args)))
    print(summary.line(args.out))
    return 0


def _cmd_bvh(args) -> int:
    from livecap.bvh.tool import info_text, repair_text

    for path in args.files:
        print(info_text(path) if args.action == "info" else repair_text(path))
    return 0


def _cmd_models(args) -> int:
    from livecap.catalog import ModelCatalog

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
    from livecap.bench import format_table, run_bench

    rows = run_bench(args.source, args.preset or list(PRESETS), args.frames, args.json, args.model_dir,
                     args.providers)
    print(format_table(rows))
    return 0


COMMANDS = {"process": _cmd_process, "models": _cmd_models, "bench": _cmd_bench, "bvh": _cmd_bvh}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(format="livecap: %(message)s", level=logging.DEBUG if args.verbose else logging.INFO)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command != "bvh":  # reading and repairing files needs no models
            from livecap.runtime import import_onnxruntime

            import_onnxruntime()
        return COMMANDS[args.command](args)
    except LivecapError as exc:
        print(f"livecap: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("livecap: interrupted; results written so far are kept", file=sys.stderr)
        return 130
