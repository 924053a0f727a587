"""Shared fixtures: real media shipped in the project (tests/data, samples/), real models, real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MEDIA = REPO / "tests" / "data"  # what each file is and its license: tests/data/README.md
TWO_PEOPLE = REPO / "samples" / "two_people.mp4"  # the shipped sample: 1920 x 1080, 28 fps, 72 frames
VTEST = MEDIA / "video" / "vtest_300.mp4"  # a street, 768 x 576, 10 fps, 300 frames
# where a reference detector's weights may lie (never shipped): only tools and the tests that rebuild the
# reference passes in tests/data/reference use them
SHARED_MODELS = Path(os.environ.get("LIVECAP_SHARED_MODELS", REPO.parent / "shared" / "models"))


def media(relative: str) -> Path:
    path = MEDIA / relative
    assert path.exists(), f"test media {path} is missing from the checkout"
    return path


def run_livecap(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    """The real command line, in a child process."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "livecap", *args], capture_output=True, text=True,
                          env=full_env, timeout=600, **kwargs)


# Python leaves SIGINT ignored when it starts with it ignored, as a shell's background job does (`pytest ... &`):
# Ctrl-C would then never reach the child. A child meant to get it starts with Python's own handler back.
_INTERRUPTIBLE = ("import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
                  "runpy.run_module('livecap', run_name='__main__', alter_sys=True)")


def interruptible_livecap(*args: str, **kwargs) -> subprocess.Popen:
    """The real command line in a child process that handles Ctrl-C (SIGINT) as it would in a terminal, whatever
    the test runner's parent does with SIGINT."""
    return subprocess.Popen([sys.executable, "-c", _INTERRUPTIBLE, *args], **kwargs)


def read_jsonl(path: Path) -> tuple[dict, list[dict]]:
    lines = [json.loads(line) for line in Path(path).read_text().splitlines()]
    return lines[0], lines[1:]


@pytest.fixture(scope="session")
def two_people_results(tmp_path_factory) -> tuple[dict, list[dict]]:
    out = tmp_path_factory.mktemp("two") / "two.jsonl"
    done = run_livecap("process", str(TWO_PEOPLE), "--out", str(out))
    assert done.returncode == 0, done.stderr
    return read_jsonl(out)


@pytest.fixture(scope="session")
def vtest_results(tmp_path_factory) -> tuple[dict, list[dict]]:
    out = tmp_path_factory.mktemp("vtest") / "vtest.jsonl"
    done = run_livecap("process", str(VTEST), "--out", str(out))
    assert done.returncode == 0, done.stderr
    return read_jsonl(out)
