#!/usr/bin/env python3
"""Milliseconds per call of each catalog model on this machine's CPU: median of N calls, batch 1 and 2.

    python tools/bench_models.py [NAME ...] [--calls 20] [--threads 0]

Prints wall time and the process's CPU time per call. With --threads 1 the CPU time hardly depends on what else the
machine runs (a fair figure on a busy shared machine); wall time with the default threads is what livecap sees.
Random inputs of the model's own shape and dtype: the graphs do the same work whatever the pixels.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from livecap.models.catalog import ModelCatalog
from livecap.models.runtime import OnnxModel, RuntimeOptions

FREE_SIZE = 256  # for symbolic height / width (MoveNet MultiPose's native scale)


def random_input(model: OnnxModel, batch: int) -> np.ndarray:
    (inp,) = model.session.get_inputs()
    shape = [batch, *(d if isinstance(d, int) else FREE_SIZE for d in inp.shape[1:])]
    values = np.random.default_rng(0).random(shape)
    return (values * 255).astype(np.int32) if inp.type == "tensor(int32)" else values.astype(np.float32)


def median_ms(model: OnnxModel, x: np.ndarray, calls: int) -> tuple[float, float]:
    """(wall, CPU) milliseconds per call, medians, after 3 warm-up calls."""
    feeds = {model.input_names[0]: x}
    for _ in range(3):
        model.run(None, feeds)
    wall, cpu = [], []
    for _ in range(calls):
        w, c = time.perf_counter(), time.process_time()
        model.run(None, feeds)
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return 1000 * float(np.median(wall)), 1000 * float(np.median(cpu))


def batch_is_symbolic(model: OnnxModel) -> bool:
    return not isinstance(model.session.get_inputs()[0].shape[0], int)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="catalog names (default: all)")
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0: its default)")
    args = parser.parse_args()
    catalog = ModelCatalog()
    print(f"{'model':30s} {'batch':>5s} {'wall ms':>9s} {'CPU ms':>9s}")
    for name in args.names or catalog.names():
        model = OnnxModel(catalog.require(name).path, RuntimeOptions(intra_op_threads=args.threads))
        for batch in (1, 2) if batch_is_symbolic(model) else (1,):
            wall, cpu = median_ms(model, random_input(model, batch), args.calls)
            print(f"{name:30s} {batch:5d} {wall:9.1f} {cpu:9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
