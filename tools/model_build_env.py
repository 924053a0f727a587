"""The build environment of tools/build_models.py: npm packages, the throwaway venv, commands (standard library)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path


class BuildError(Exception):
    pass


def run(cmd, **kwargs) -> subprocess.CompletedProcess:
    """Run a command, raising BuildError with its output tail on failure."""
    proc = subprocess.run([str(c) for c in cmd], text=True, **kwargs)
    if proc.returncode != 0:
        tail = "\n".join(((proc.stdout or "") + (proc.stderr or "")).splitlines()[-30:])
        raise BuildError(f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{tail}")
    return proc


def sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def fetch_packages(work: Path, packages: dict[str, str]) -> dict[str, Path]:
    """npm pack each package into work/npm and extract it; returns package dirs."""
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError("npm not found on PATH: install Node.js/npm (it downloads the weights)")
    npm_dir = work / "npm"
    npm_dir.mkdir(parents=True, exist_ok=True)
    dirs = {}
    for key, spec in packages.items():
        print(f"npm pack {spec}")
        out = run([npm, "pack", spec, "--json"], cwd=npm_dir, capture_output=True).stdout
        tarball = npm_dir / json.loads(out)[0]["filename"]
        dest = npm_dir / key
        shutil.rmtree(dest, ignore_errors=True)
        with tarfile.open(tarball) as tar:
            tar.extractall(dest, filter="data")
        dirs[key] = dest / "package"  # npm tarballs keep everything under package/
    return dirs


def fetch_wheels(work: Path, python: Path, wheels: dict[str, tuple[str, str, str]]) -> dict[str, Path]:
    """pip download each (requirement, wheel file, SHA256) into work/pypi with the build venv's pip, check the
    wheel's SHA256 and unzip it; returns the unzipped dirs. The platform and Python version are those of the
    pinned file, so that the same wheel comes on any build machine."""
    pypi = work / "pypi"
    pypi.mkdir(parents=True, exist_ok=True)
    dirs = {}
    for key, (requirement, filename, digest) in wheels.items():
        wheel = pypi / filename
        if not wheel.exists():
            print(f"pip download {requirement} ({filename})")
            python_tag, _, platform = filename[:-len(".whl")].split("-")[2:5]
            run([python, "-m", "pip", "download", requirement, "--no-deps", "--only-binary=:all:", "--dest", pypi,
                 "--python-version", python_tag.removeprefix("cp"), "--platform", platform.split(".")[0]],
                capture_output=True)
        if sha256(wheel) != digest:
            raise BuildError(f"{wheel} has SHA256 {sha256(wheel)}, expected {digest}: PyPI served another file")
        dest = pypi / key
        shutil.rmtree(dest, ignore_errors=True)
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(dest)
        dirs[key] = dest
    return dirs


def make_venv(work: Path, requirements: list[str]) -> Path:
    """Create (or reuse, when --work points at an earlier run) the build venv."""
    venv = work / "venv"
    python = venv / "bin" / "python"
    marker = venv / "livecap-requirements.txt"
    wanted = "\n".join(requirements) + "\n"
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        print(f"reusing build venv {venv}")
        return python
    print(f"creating build venv {venv} and installing {' '.join(requirements)} (minutes)")
    shutil.rmtree(venv, ignore_errors=True)
    run([sys.executable, "-m", "venv", venv])
    run([python, "-m", "pip", "install", "--quiet", *requirements], capture_output=True)
    marker.write_text(wanted)
    return python


def print_versions(python: Path) -> None:
    """The unpinned packages decide the output bytes too, so log them."""
    listed = run([python, "-m", "pip", "list", "--format=json"], capture_output=True).stdout
    versions = {p["name"].lower().replace("_", "-"): p["version"] for p in json.loads(listed)}
    names = ["tensorflow-cpu", "tf2onnx", "onnx", "onnxruntime", "numpy", "protobuf"]
    print("build venv: " + ", ".join(f"{n}=={versions.get(n, '?')}" for n in names))


def step_env() -> dict[str, str]:
    # PYTHONHASHSEED: tf2onnx's TF.js path iterates sets of strings, and the
    # order decides the names of generated tensors (see model_build_steps.step_tf2onnx).
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore", PYTHONHASHSEED="0")
