"""A fresh clone with nothing beside it: the README's set-up commands run as written on the sample clip shipped in
samples/, which the installed package carries too (livecap.samples)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib

from conftest import REPO, read_jsonl, run_livecap


def setup_commands() -> list[str]:
    """The commands of the README's Set-up section, as a user copies them."""
    section = (REPO / "README.md").read_text().split("## Set-up", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.split("#")[0].strip()]


def test_the_sample_clip_ships_with_its_license_and_is_found_by_the_package():
    from livecap.samples import sample_video

    path = sample_video()
    assert path == REPO / "samples" / "two_people.mp4" and path.stat().st_size > 500_000
    assert (path.parent / "LICENSE-mmaction2-Apache-2.0").read_text().startswith("Copyright 2018-2019 Open-MMLab")
    assert "demo/demo_skeleton.mp4" in (path.parent / "README.md").read_text()
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["package-dir"]["livecap._samples"] == "samples"  # installed as package data
    assert "livecap._samples" in setuptools["packages"] and "*.mp4" in setuptools["package-data"]["livecap._samples"]


def test_the_readme_set_up_is_two_commands_that_install_the_app_and_run_on_the_sample(tmp_path):
    install, run = setup_commands()
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    wanted = re.fullmatch(r'pip install -e "\.\[(.*)\]"', install).group(1).split(",")
    assert set(wanted) == {"cpu", "gui"} and set(wanted) <= set(extras)  # the desktop app's packages too
    (tmp_path / "samples").symlink_to(REPO / "samples")  # the clone's samples/, nothing else beside it
    args = shlex.split(run)
    assert args[0] == "livecap"
    done = subprocess.run([sys.executable, "-m", "livecap", *args[1:]], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    header, frames = read_jsonl(tmp_path / "results.jsonl")
    assert header["width"] == 1920 and len(frames) == 72
    assert {p["id"] for f in frames for p in f["people"]} == {1, 2}
    assert len(list((tmp_path / "takes").glob("*_person*.bvh"))) == 2


def test_only_a_run_that_compiles_the_skeleton_solver_says_so_first(tmp_path):
    sample = ["process", str(REPO / "samples" / "two_people.mp4"), "--out", str(tmp_path / "r.jsonl"),
              "--max-frames", "1"]
    run_livecap(*sample)  # compiles, if no run did before on this machine
    done = run_livecap(*sample)
    assert done.returncode == 0, done.stderr
    assert "preparing the skeleton solver" not in done.stderr
    empty = tmp_path / "numba-cache"  # as on a fresh install: nothing compiled yet
    child = subprocess.Popen([sys.executable, "-m", "livecap", *sample], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, env={**os.environ, "NUMBA_CACHE_DIR": str(empty)})
    try:
        first = child.stderr.readline()
    finally:
        child.kill()  # no need to sit through the compile
        child.communicate()
    assert re.fullmatch(r"livecap: preparing the skeleton solver once, about \d+ s \(later runs reuse it\)\n", first)


def test_nothing_a_user_reads_points_outside_the_repository():
    for path in [REPO / "README.md", REPO / "samples" / "README.md", REPO / "packaging" / "README.md"]:
        assert "../shared" not in path.read_text() and "shared/media" not in path.read_text(), path
