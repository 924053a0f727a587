"""Which models exist, where, and whether each file is intact.

Shipped models live in the package (`livecap._models`, the repository's models/ folder) and are listed with
their SHA256 in its catalog.json. Users may add models in a user model directory: a catalog.json there (same
format) pins them; bare .onnx files there are usable but unverified.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from livecap.errors import ModelError

MODEL_DIR_ENV = "LIVECAP_MODEL_DIR"
CATALOG_FILE = "catalog.json"
REBUILD_HINT = "reinstall livecap, or rebuild the models with `python tools/build_models.py`"


def shipped_model_dir() -> Path:
    """models/ beside the package in a source checkout, livecap/_models once installed or bundled."""
    here = Path(__file__).resolve().parents[1]  # the livecap package
    for candidate in (here / "_models", here.parent / "models"):
        if (candidate / CATALOG_FILE).is_file():
            return candidate
    return here / "_models"


def default_user_model_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "livecap" / "models"


def user_model_dir(setting: str | os.PathLike | None = None) -> Path:
    """The user model directory: an explicit setting wins, then $LIVECAP_MODEL_DIR, then the default."""
    if setting:
        return Path(setting).expanduser()
    env = os.environ.get(MODEL_DIR_ENV)
    return Path(env).expanduser() if env else default_user_model_dir()


@dataclass(frozen=True)
class ModelEntry:
    name: str
    path: Path
    sha256: str  # empty when unknown (an unlisted user model)
    role: str  # what the pipeline uses it for: people, landmarks, hands, keypoints, detector
    format: str = ""  # its inputs and outputs, which the wrapper class reads (livecap.models.landmarker)
    license: str = ""
    origin: str = ""
    shipped: bool = False
    variant_of: str = ""  # the model whose variant this is (same inputs and outputs), e.g. a float16 one for GPUs
    precision: str = "float32"  # of its weights and arithmetic: float32, float16


@dataclass(frozen=True)
class ModelStatus:
    entry: ModelEntry
    state: str  # "ok", "unverified", "missing", "altered"
    size: int
    actual_sha256: str

    @property
    def usable(self) -> bool:
        return self.state in ("ok", "unverified")

    def problem(self) -> str:
        """One line naming the file and the fix; empty when usable."""
        fix = REBUILD_HINT if self.entry.shipped else "copy the model file into the user model directory again"
        if self.state == "missing":
            return f"model file {self.entry.path} is missing: {fix}"
        if self.state == "altered":
            return (f"model file {self.entry.path} is truncated or altered ({self.size} bytes, sha256 "
                    f"{self.actual_sha256[:12]}... expected {self.entry.sha256[:12]}...): {fix}")
        return ""


def sha256_of(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _read_catalog(folder: Path, shipped: bool) -> list[ModelEntry]:
    path = folder / CATALOG_FILE
    if not path.is_file():
        return []
    try:
        items = json.loads(path.read_text(encoding="utf-8"))["models"]
        return [ModelEntry(name=m["name"], path=folder / m["file"], sha256=m.get("sha256", ""),
                           role=m.get("role", ""), format=m.get("format", ""), license=m.get("license", ""),
                           origin=m.get("origin", ""), shipped=shipped, variant_of=m.get("variant_of", ""),
                           precision=m.get("precision", "float32")) for m in items]
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"model catalog {path} is not valid ({exc}): fix or remove it") from None


class ModelCatalog:
    """The shipped models plus those in the user model directory (a user entry may override a shipped one)."""

    def __init__(self, user_dir: str | os.PathLike | None = None, shipped_dir: Path | None = None):
        self.shipped_dir = shipped_dir or shipped_model_dir()
        self.user_dir = user_model_dir(user_dir)
        entries = {e.name: e for e in _read_catalog(self.shipped_dir, shipped=True)}
        if self.user_dir.is_dir():
            listed = _read_catalog(self.user_dir, shipped=False)
            entries.update({e.name: e for e in listed})
            listed_paths = {e.path for e in listed}
            for onnx_file in sorted(self.user_dir.glob("*.onnx")):
                if onnx_file not in listed_paths:
                    entries[onnx_file.stem] = ModelEntry(onnx_file.stem, onnx_file, "", "", shipped=False)
        self.entries = entries
        self._verified: dict[tuple, ModelStatus] = {}

    def names(self) -> list[str]:
        return list(self.entries)

    def status(self, name: str) -> ModelStatus:
        entry = self.entry(name)
        try:
            stat = entry.path.stat()
        except OSError:
            return ModelStatus(entry, "missing", 0, "")
        key = (entry.path, stat.st_size, stat.st_mtime_ns)
        if key not in self._verified:
            actual = sha256_of(entry.path)
            state = "unverified" if not entry.sha256 else ("ok" if actual == entry.sha256 else "altered")
            self._verified[key] = ModelStatus(entry, state, stat.st_size, actual)
        return self._verified[key]

    def float16_variant(self, name: str) -> ModelEntry | None:
        """The present, intact float16 variant of model `name`, if the catalog lists one."""
        for entry in self.entries.values():
            if entry.variant_of == name and entry.precision == "float16" and self.status(entry.name).usable:
                return entry
        return None

    def entry(self, name: str) -> ModelEntry:
        if name in self.entries:
            return self.entries[name]
        as_path = Path(name).expanduser()
        if as_path.suffix == ".onnx" and as_path.is_file():
            return ModelEntry(as_path.stem, as_path.resolve(), "", "")
        known = ", ".join(self.entries) or "none"
        raise ModelError(f"unknown model '{name}' (known: {known}); put its .onnx file in {self.user_dir} "
                         f"or give a path to an .onnx file")

    def require(self, name: str) -> ModelEntry:
        """The entry of a model that is present and intact, or a ModelError that says how to fix it."""
        status = self.status(name)
        if not status.usable:
            raise ModelError(status.problem())
        return status.entry
