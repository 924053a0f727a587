"""Shared fixtures: real media from ../shared/media (or $LIVECAP_MEDIA), real models, real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("LIVECAP_MEDIA", REPO.parent / "shared" / "media"))
SHARED_MODELS = Path(os.environ.get("LIVECAP_SHARED_MODELS", REPO.parent / "shared" / "models"))


def media(relative: str) -> Path:
    path = MEDIA / relative
    if not path.exists():
        pytest.skip(f"test media {path} is absent (set LIVECAP_MEDIA to the shared media folder)")
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
    done = run_livecap("process", str(media("video/two_people_1080p.mp4")), "--out", str(out))
    assert done.returncode == 0, done.stderr
    return read_jsonl(out)


@pytest.fixture(scope="session")
def vtest_results(tmp_path_factory) -> tuple[dict, list[dict]]:
    out = tmp_path_factory.mktemp("vtest") / "vtest.jsonl"
    done = run_livecap("process", str(media("video/vtest.avi")), "--out", str(out), "--max-frames", "300")
    assert done.returncode == 0, done.stderr
    return read_jsonl(out)
