"""The one place that creates ONNX Runtime sessions and picks their execution providers."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from livecap.errors import ModelError, RuntimeMissingError
from livecap.models.catalog import ModelCatalog, ModelEntry

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


# cores from which the next frame's scheduled detector run goes ahead beside this frame's landmarks by default: on 2
# cores it measured slower on vtest (0.87x) and within the noise on two_people (1.08x); 4 were not at hand to measure
DETECT_AHEAD_CORES = 4


def detect_ahead_on(asked: bool | None, threads: int) -> bool:
    """Whether the detectors run ahead on a thread of their own: as asked, else where `threads` cores pay for it."""
    return threads >= DETECT_AHEAD_CORES if asked is None else asked


def ahead_threads(threads: int) -> int:
    """ONNX Runtime threads of the detectors' sessions that run ahead: half the cores, one at least. The other
    models keep every core: on 2 cores the landmarks with one thread fewer made the engine slower (two_people
    0.89x, vtest 0.75x against 1.08x and 0.87x keeping both), and the overlap lasts only while a run is made ahead.
    A detector with one thread on 4 or more cores would take longer than the landmarks it runs beside (vtest's
    runs take about twice a frame's landmarks on 2 cores): half of them keeps it near what it would cost alone."""
    return max(1, threads // 2)


# where IO binding puts a model's outputs, per provider that runs it (the first of the session's providers)
OUTPUT_DEVICES = {"CUDAExecutionProvider": "cuda", "CPUExecutionProvider": "cpu"}
GPU_PRECISIONS = ("auto", "float32")


@dataclass
class RuntimeOptions:
    providers: list[str] | None = None  # None: automatic
    intra_op_threads: int = 0  # 0: one per core this process may use
    io_binding: bool | None = None  # None: where CUDA runs the model (on the CPU it measured no faster)
    gpu_precision: str = "auto"  # auto: a model's float16 variant where CUDA runs it; float32: never


class OnnxModel:
    """An ONNX Runtime session together with the providers it really runs on."""

    def __init__(self, path: Path, options: RuntimeOptions | None = None, precision: str = "float32"):
        """`precision`: that of the file's weights, for the record (its inputs and outputs are float32 always)."""
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
        self.path, self.precision = path, precision
        self.providers = self.session.get_providers()
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        fell_back = [p for p in wanted if p in GPU_PROVIDERS and p not in self.providers]
        if fell_back:
            log.warning("%s is installed but %s runs on %s: its libraries (CUDA / cuDNN) were not found; "
                        "see GPU in docs/configuration.md", ", ".join(fell_back), path.name,
                        ", ".join(self.providers))
        binding = self.providers[0] == "CUDAExecutionProvider" if options.io_binding is None else options.io_binding
        self.io_binding = bool(binding and self.providers[0] in OUTPUT_DEVICES)

    @property
    def on_gpu(self) -> bool:
        return any(p in GPU_PROVIDERS for p in self.providers)

    @property
    def on_cuda(self) -> bool:
        return "CUDAExecutionProvider" in self.providers

    def run(self, outputs: list[str] | None, feeds: dict) -> list[np.ndarray]:
        return self.run_bound(outputs, feeds) if self.io_binding else self.session.run(outputs, feeds)

    def run_bound(self, outputs: list[str] | None, feeds: dict) -> list[np.ndarray]:
        """session.run through IO binding: the inputs bound from host memory, the outputs allocated on the device
        that ran the model and copied back to the host after the run, in one step. On CUDA this is untested here
        (no GPU was lent): tools/gpu_bench.py measures it against the plain call."""
        binding = self.session.io_binding()
        for name, value in feeds.items():
            binding.bind_cpu_input(name, np.ascontiguousarray(value))
        for name in outputs or self.output_names:
            binding.bind_output(name, OUTPUT_DEVICES[self.providers[0]])
        self.session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()


def load_model(catalog: ModelCatalog, entry: ModelEntry, options: RuntimeOptions) -> OnnxModel:
    """The model of `entry`, or its float16 variant where the catalog has an intact one, CUDA really runs it and
    `options` allow it (their inputs and outputs are the same float32: the wrappers do not change)."""
    variant = catalog.float16_variant(entry.name) if options.gpu_precision == "auto" else None
    available = import_onnxruntime().get_available_providers()
    if variant is not None and "CUDAExecutionProvider" in resolve_providers(options.providers, available):
        model = OnnxModel(variant.path, options, precision="float16")
        if model.on_cuda:
            return model
        log.warning("%s: CUDA did not take it (%s), so its float32 model runs", variant.path.name,
                    ", ".join(model.providers))
    return OnnxModel(entry.path, options)
