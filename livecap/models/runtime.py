"""The one place that creates ONNX Runtime sessions and picks their execution providers."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from livecap.errors import ModelError, RuntimeMissingError

log = logging.getLogger(__name__)

INSTALL_HINT = ("ONNX Runtime is not installed: run `pip install -e \".[cpu]\"` (any computer) "
                "or `pip install -e \".[gpu]\"` (NVIDIA GPU with CUDA 12/13)")

# Tried in this order when the user names none; TensorRT builds engines for minutes on first use, so it is
# used only when asked for by name.
AUTO_PROVIDERS = ("CUDAExecutionProvider", "CoreMLExecutionProvider", "DmlExecutionProvider",
                  "CPUExecutionProvider")
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CoreMLExecutionProvider",
                 "DmlExecutionProvider")
SHORT_NAMES = {"tensorrt": "TensorrtExecutionProvider", "cuda": "CUDAExecutionProvider",
               "coreml": "CoreMLExecutionProvider", "directml": "DmlExecutionProvider",
               "dml": "DmlExecutionProvider", "cpu": "CPUExecutionProvider"}


def import_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise RuntimeMissingError(INSTALL_HINT) from None
    return onnxruntime


def resolve_providers(requested: list[str] | None, available: list[str]) -> list[str]:
    """Provider names to ask for: the user's choice (short names allowed) or the automatic order."""
    if requested:
        chosen = [SHORT_NAMES.get(p.lower(), p) for p in requested]
        unknown = [p for p in chosen if p not in available]
        if unknown:
            raise RuntimeMissingError(f"execution provider {', '.join(unknown)} is not available in this "
                                      f"ONNX Runtime (available: {', '.join(available)}); choose one of those")
        return chosen
    return [p for p in AUTO_PROVIDERS if p in available]


def usable_cores() -> int:
    """The cores this process may run on (a container's or taskset's limit, where the OS reports one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass
class RuntimeOptions:
    providers: list[str] | None = None  # None: automatic
    intra_op_threads: int = 0  # 0: one per core this process may use


class OnnxModel:
    """An ONNX Runtime session together with the providers it really runs on."""

    def __init__(self, path: Path, options: RuntimeOptions | None = None):
        options = options or RuntimeOptions()
        ort = import_onnxruntime()
        available = ort.get_available_providers()
        wanted = resolve_providers(options.providers, available)
        if any(p in GPU_PROVIDERS for p in wanted) and hasattr(ort, "preload_dlls"):
            # makes the CUDA / cuDNN libraries of the nvidia-* wheels findable (onnxruntime >= 1.21)
            ort.preload_dlls()
        session_options = ort.SessionOptions()
        session_options.log_severity_level = 3
        # ONNX Runtime's pool threads spin while waiting for work by default; with capture, sinks and (in the app)
        # the window on threads of their own and few cores, that spinning takes their CPU: measured on 2 cores,
        # the engine ran 10-20% faster without it (balanced, two_people_1080p: 35-41 -> 43-47 fps)
        session_options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # a thread count of ONNX Runtime's own choosing pins its threads to cores, where they then wait on the
        # capture thread's decoding; an explicit count leaves them free to move (measured on 2 cores, balanced,
        # two_people_1080p, alternated: 43 -> 46 fps)
        session_options.intra_op_num_threads = options.intra_op_threads or usable_cores()
        try:
            self.session = ort.InferenceSession(str(path), sess_options=session_options, providers=wanted)
        except Exception as exc:  # ORT raises its own exception types for unreadable graphs
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"model file {path} cannot be loaded by ONNX Runtime ({first_line[:200]}): "
                             f"replace the file") from None
        self.path = path
        self.providers = self.session.get_providers()
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        fell_back = [p for p in wanted if p in GPU_PROVIDERS and p not in self.providers]
        if fell_back:
            log.warning("%s is installed but %s runs on %s: its libraries (CUDA / cuDNN) were not found; "
                        "see GPU in docs/configuration.md", ", ".join(fell_back), path.name,
                        ", ".join(self.providers))

    @property
    def on_gpu(self) -> bool:
        return any(p in GPU_PROVIDERS for p in self.providers)

    def run(self, outputs: list[str] | None, feeds: dict):
        return self.session.run(outputs, feeds)
