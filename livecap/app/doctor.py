"""`livecap doctor`: one report a user can paste into a bug report. Every check is guarded: a broken part is a
line in the report, never a crash of the report."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from pathlib import Path

from livecap import __version__

PACKAGES = ("numpy", "opencv-python-headless", "opencv-python", "onnxruntime", "onnxruntime-gpu", "numba", "scipy",
            "filterpy", "python-osc", "PyQt6", "pyqtgraph", "PyOpenGL")


def _packages() -> list[str]:
    lines = []
    for name in PACKAGES:
        try:
            lines.append(f"  {name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            if name not in ("opencv-python", "onnxruntime-gpu", "onnxruntime"):
                lines.append(f"  {name} not installed")
    if _installed("opencv-python"):
        lines.append("  WARNING: opencv-python (not -headless) ships its own Qt and breaks the desktop app: "
                     "pip uninstall opencv-python")
    if _installed("onnxruntime") and _installed("onnxruntime-gpu"):
        lines.append("  WARNING: onnxruntime and onnxruntime-gpu overwrite each other: keep one")
    if not (_installed("onnxruntime") or _installed("onnxruntime-gpu")):
        lines.append('  ONNX Runtime not installed: pip install "livecap[cpu]" (or "livecap[gpu]")')
    return lines


def _installed(name: str) -> bool:
    try:
        importlib.metadata.version(name)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


def _models() -> list[str]:
    try:
        from livecap.models.catalog import ModelCatalog

        catalog = ModelCatalog()
        return [f"  {name}: {catalog.status(name).state}" for name in catalog.names()]
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return [f"  cannot check the models: {exc}"]


def _providers() -> list[str]:
    try:
        from livecap.models.runtime import import_onnxruntime, resolve_providers

        ort = import_onnxruntime()
        return [f"  available: {', '.join(ort.get_available_providers())}",
                f"  livecap uses: {', '.join(resolve_providers(None, ort.get_available_providers()))} (a GPU provider that fails to load falls "
                f"back to CPU with a warning)"]
    except Exception as exc:  # noqa: BLE001
        return [f"  {exc}"]


def _gpu_precision(config_path: Path) -> list[str]:
    """Whether float16 variants would run where CUDA runs: the setting and the variants installed."""
    try:
        from livecap.app.config import read_config
        from livecap.models.catalog import ModelCatalog

        setting = read_config(config_path, False).get("pipeline", {}).get("gpu_precision", "auto")
        catalog = ModelCatalog()
        variants = [f"{e.name} ({catalog.status(e.name).state})" for e in catalog.entries.values()
                    if e.precision == "float16"]
        if str(setting).lower() == "float32":
            return ["  float32 everywhere (gpu_precision = \"float32\" in the config)"]
        return ["  float16 variants, used only where CUDA runs: " + (", ".join(variants) or
                "none installed (python tools/fp16_models.py installs them); float32 runs")]
    except Exception as exc:  # noqa: BLE001
        return [f"  cannot check the GPU precision: {exc}"]


def _detect_ahead(config_path: Path) -> list[str]:
    """Whether the next frame's people detection runs ahead on a thread of its own, and why."""
    try:
        from livecap.app.config import read_config
        from livecap.models.runtime import DETECT_AHEAD_CORES, detect_ahead_on, usable_cores

        setting = read_config(config_path, False).get("pipeline", {}).get("detect_ahead")
        cores = usable_cores()
        why = f"detect_ahead = {str(setting).lower()} in the config" if setting is not None else \
            f"{cores} usable cores; on from {DETECT_AHEAD_CORES}"
        return [f"  {'on' if detect_ahead_on(setting, cores) else 'off'} ({why})"]
    except Exception as exc:  # noqa: BLE001
        return [f"  cannot check: {exc}"]


def _cameras() -> list[str]:
    try:
        from livecap.sources import list_cameras

        found = list_cameras()
        return [f"  camera {index}: {mode}" for index, mode in found] or ["  none found"]
    except Exception as exc:  # noqa: BLE001
        return [f"  cannot list cameras: {exc}"]


def _display() -> list[str]:
    if sys.platform.startswith("linux"):
        names = {key: os.environ.get(key) for key in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
        shown = ", ".join(f"{k}={v}" for k, v in names.items() if v) or "no DISPLAY or WAYLAND_DISPLAY: the " \
                                                                       "desktop app needs a screen (or Xvfb)"
        return [f"  {shown}"]
    return [f"  {sys.platform}: native"]


def report(config_path: Path) -> str:
    sections = [
        (f"livecap {__version__}", [f"  Python {sys.version.split()[0]} ({sys.executable})",
                                   f"  {platform.platform()}, {os.cpu_count()} CPUs"]),
        ("packages", _packages()),
        ("models", _models()),
        ("execution providers", _providers()),
        ("GPU precision", _gpu_precision(config_path)),
        ("detection ahead", _detect_ahead(config_path)),
        ("cameras", _cameras()),
        ("display", _display()),
        ("config", [f"  {config_path} ({'present' if config_path.exists() else 'absent: defaults'})"]),
    ]
    return "\n".join(f"{title}\n" + "\n".join(lines) for title, lines in sections)
