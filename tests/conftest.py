"""Shared fixtures: real media shipped in the project (tests/data, samples/), real models, real processes, one real
streamed run for the OSC tests, and the desktop app's display and window."""

from __future__ import annotations

import json
import os
import shutil
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


def lines_on_disk(path: Path) -> list[bytes]:
    """The lines a running command has written to `path` so far; none while it does not exist. The command's
    start-up check (livecap.sinks.checks) creates and removes the file, so it can vanish between a look and a read."""
    try:
        return Path(path).read_bytes().splitlines()
    except FileNotFoundError:
        return []


def interruptible_livecap(*args: str, **kwargs) -> subprocess.Popen:
    """The real command line in a child process that handles Ctrl-C (SIGINT) as it would in a terminal, whatever
    the test runner's parent does with SIGINT."""
    return subprocess.Popen([sys.executable, "-c", _INTERRUPTIBLE, *args], **kwargs)


def assert_switch_from_flag_and_config(tmp_path: Path, key: str) -> None:
    """A pipeline part that is on or off (hands, face): on with its flag, left to the preset without it, on with
    `KEY = true` in the config file's [pipeline], and a value that is not true or false fails naming key and value."""
    from livecap.app.cli import build_parser
    from livecap.app.flags import pipeline_settings

    parser = build_parser()
    assert getattr(pipeline_settings(parser.parse_args(["process", "v.mp4", "--out", "r.jsonl", f"--{key}"])),
                   f"{key}_on")
    assert getattr(pipeline_settings(parser.parse_args(["process", "v.mp4", "--out", "r.jsonl"])), key) is None
    config = tmp_path / "config.toml"
    config.write_text(f"[pipeline]\n{key} = true\n")
    done = run_livecap("--config", str(config), "config", "--show")
    assert done.returncode == 0 and f"\n{key} = true\n" in done.stdout, done.stderr
    config.write_text(f'[pipeline]\n{key} = "yes"\n')
    done = run_livecap("--config", str(config), "config", "--show")
    assert done.returncode == 2 and f"[pipeline] {key} must be true or false, not 'yes'" in done.stderr


def read_jsonl(path: Path) -> tuple[dict, list[dict]]:
    lines = [json.loads(line) for line in Path(path).read_text().splitlines()]
    return lines[0], lines[1:]


def processed(tmp_path_factory, name: str, video: Path, *flags: str) -> tuple[dict, list[dict]]:
    """`livecap process` of `video` with `flags`, its results read back."""
    out = tmp_path_factory.mktemp(name) / f"{name}.jsonl"
    done = run_livecap("process", str(video), "--out", str(out), *flags)
    assert done.returncode == 0, done.stderr
    return read_jsonl(out)


@pytest.fixture(scope="session")
def two_people_results(tmp_path_factory) -> tuple[dict, list[dict]]:
    """The live path's results (--causal: what `livecap run` gives), which most specifications read; refined takes
    have their own (below)."""
    return processed(tmp_path_factory, "two", TWO_PEOPLE, "--causal")


@pytest.fixture(scope="session")
def vtest_results(tmp_path_factory) -> tuple[dict, list[dict]]:
    return processed(tmp_path_factory, "vtest", VTEST, "--causal")


@pytest.fixture(scope="session")
def two_people_refined(tmp_path_factory) -> tuple[dict, list[dict]]:
    """`livecap process` as a user runs it on a file: the take refined after capture (livecap.refine)."""
    return processed(tmp_path_factory, "two_refined", TWO_PEOPLE)


@pytest.fixture(scope="session")
def vtest_refined(tmp_path_factory) -> tuple[dict, list[dict]]:
    """The street refined, its first 15 seconds (half the clip: its first pass is what costs, 20-40 s whole)."""
    return processed(tmp_path_factory, "vtest_refined", VTEST, "--max-frames", "150")


# the results fixtures of each way a file is processed, for specifications that hold both ways
RESULTS = {"live": ("two_people_results", "vtest_results"), "refined": ("two_people_refined", "vtest_refined")}


# ---- OSC streaming: one real run shared by the test_osc_* modules

@pytest.fixture(scope="session")
def streamed_run(tmp_path_factory):
    """`livecap process` on real video with all three streams on, each to a python-osc server on loopback."""
    from types import SimpleNamespace

    from osc_receivers import Receiver, free_port_pair
    from osc_support import ALL_TRACKERS, FRAMES

    out = tmp_path_factory.mktemp("osc") / "two.jsonl"
    base = free_port_pair()
    with Receiver() as plain, Receiver() as vrchat, Receiver(base) as vmc0, Receiver(base + 1) as vmc1:
        done = run_livecap("process", str(TWO_PEOPLE), "--out", str(out), "--no-progress",
                           "--osc", f"127.0.0.1:{plain.port}", "--vrchat", str(vrchat.port),
                           "--vrchat-trackers", ALL_TRACKERS, "--vmc", f"127.0.0.1:{base}", "--vmc-person", "all")
        assert done.returncode == 0, done.stderr
        for receiver in (plain, vrchat, vmc0, vmc1):
            receiver.wait_for(FRAMES)
        _, frames = read_jsonl(out)
        return SimpleNamespace(out=out, stdout=done.stdout, stderr=done.stderr, frames=frames,
                               plain=plain.bundles(), vrchat=vrchat.bundles(), vmc=[vmc0.bundles(), vmc1.bundles()])


# ---- the desktop app: one virtual display and one model cache for every test_gui_* module

CI = bool(os.environ.get("CI"))


def _gui_missing() -> str | None:
    from livecap.gui import missing_gui_packages

    if missing_gui_packages():
        return missing_gui_packages()
    if not shutil.which("Xvfb"):
        return "Xvfb is not installed (apt-get install xvfb; see docs/desktop-app.md)"
    return None


@pytest.fixture(scope="session")
def display():
    """A virtual X display for the whole session (the GL view needs a real GLX context, which the offscreen
    platform does not give). Started before pytest-qt's QApplication, and left to end with this process."""
    problem = _gui_missing()
    if problem:
        if CI:
            pytest.fail(f"the GUI tests must run in CI: {problem}")
        pytest.skip(problem)
    from livecap.gui.launch import share_gl_contexts
    from xvfb import Xvfb

    Xvfb().start()
    share_gl_contexts()


@pytest.fixture(scope="session")
def gui_models(display):
    from livecap.gui.engine_runner import ModelCache

    return ModelCache()


@pytest.fixture
def make_window(display, qtbot, gui_models, tmp_path):
    """make(settings_dir=None, start=None): the real main window, shown (start: what a config file set)."""
    from livecap.gui.app import MainWindow

    def make(settings_dir=None, start=None):
        window = MainWindow(settings_dir or tmp_path / "settings", models=gui_models, start=start)
        qtbot.addWidget(window)
        with qtbot.waitExposed(window):
            window.show()
        return window
    return make
