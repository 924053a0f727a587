"""The desktop app's settings: one JSON file in the user's config folder, read at start and written at exit, and
what the config file and the command line set for this start (AppStart), which goes over it.

A JSON file rather than QSettings: readable and editable by hand, the same on every platform, and tests point the
whole app at a temporary folder with one argument (or $LIVECAP_CONFIG_DIR)."""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from livecap.errors import LivecapError
from livecap.settings import DEFAULT_SMOOTHING, PipelineSettings, check_smoothing, get_preset
from livecap.sinks.osc.kinds import KINDS, STREAM_RATE, StreamKind
from livecap.sources import CaptureRequest

log = logging.getLogger("livecap")

FILE_NAME = "gui.json"


def config_dir() -> Path:
    """$LIVECAP_CONFIG_DIR, else the platform's per-user config folder."""
    if os.environ.get("LIVECAP_CONFIG_DIR"):
        return Path(os.environ["LIVECAP_CONFIG_DIR"])
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "livecap"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "livecap"
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "livecap"


@dataclass
class StreamSetting:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 0


def _streams() -> dict[str, StreamSetting]:
    return {kind.name: StreamSetting(port=kind.default_port) for kind in KINDS}


@dataclass(frozen=True)
class AppStart:
    """What the config file and `livecap gui`'s flags set for this start of the app (livecap.app.flags.app_start).
    None (or absent) where neither did: the app keeps the choice it saved."""

    pipeline: PipelineSettings = field(default_factory=PipelineSettings)  # camera, height, providers, model folder
    preset: str | None = None
    smoothing: float | None = None
    hands: bool | None = None
    face: bool | None = None
    source: str | None = None  # shown, not started (`--source` starts)
    paced: bool = True  # a file plays at its own frame rate, as a camera would deliver it
    request: CaptureRequest = field(default_factory=CaptureRequest)
    record_dir: str | None = None
    recording: dict = field(default_factory=dict)  # BvhOptions' other fields: units, order, fps, min_seconds, take
    streams: dict = field(default_factory=dict)  # the streams' values by dest (see livecap.sinks.osc.kinds)
    kinds: tuple[StreamKind, ...] = KINDS  # the stream kinds the app offers

    @property
    def stream_rate(self) -> float | None:
        return self.streams.get(STREAM_RATE.dest)


# the saved values a hand-edited file could spoil, each through its one check (livecap.settings)
_CHECKS = {"preset": lambda name: get_preset(name).name, "smoothing": check_smoothing}


@dataclass
class GuiSettings:
    source: str = ""  # camera index, file or URL; empty: the first camera found
    recent: list[str] = field(default_factory=list)  # files and URLs used before, newest first
    preset: str = "balanced"
    hands: bool | None = None  # the Hands switch; None: the preset's default
    face: bool | None = None  # the Face switch; None: the preset's default
    smoothing: float = DEFAULT_SMOOTHING
    loop: bool = False  # play a video file again when it ends
    record_dir: str = str(Path.home() / "livecap-recordings")
    refine_takes: bool = True  # a take is refined when its recording stops (livecap.gui.refining)
    streams: dict[str, StreamSetting] = field(default_factory=_streams)
    geometry: str = ""  # the window's saveGeometry(), base64
    splitters: dict[str, str] = field(default_factory=dict)  # name -> saveState(), base64

    @classmethod
    def load(cls, folder: Path | None = None) -> "GuiSettings":
        """The saved settings; the defaults when there are none or the file is damaged (never fatal)."""
        path = Path(folder or config_dir()) / FILE_NAME
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.warning("settings %s unreadable (%s): using the defaults", path, exc)
            return cls()
        settings = cls()
        known = {f.name for f in fields(cls)}
        for key, value in data.items():
            if key == "streams" and isinstance(value, dict):
                for name, stream in value.items():  # a kind this version does not offer is kept, not shown
                    if isinstance(stream, dict):
                        settings.streams[name] = StreamSetting(**{k: v for k, v in stream.items()
                                                                  if k in ("enabled", "host", "port")})
            elif key in known and key != "streams":
                try:
                    setattr(settings, key, _CHECKS[key](value) if key in _CHECKS else value)
                except LivecapError as exc:
                    log.warning("settings %s: %s; using the default", path, exc)
        return settings

    def take(self, start: AppStart) -> None:
        """What the config file and the command line set goes over what was saved."""
        for name in ("preset", "smoothing", "hands", "face"):
            if getattr(start, name) is not None:
                setattr(self, name, getattr(start, name))
        if start.record_dir:
            self.record_dir = os.path.abspath(os.path.expanduser(start.record_dir))
        if start.source:
            self.remember_source(start.source)
        for kind in start.kinds:
            if start.streams.get(kind.name):
                host, port = start.streams[kind.name]
                self.streams[kind.name] = StreamSetting(True, host, port)

    def save(self, folder: Path | None = None) -> Path:
        """Writes atomically (a crash mid-write leaves the previous file)."""
        folder = Path(folder or config_dir())
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / FILE_NAME
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        os.replace(tmp, path)
        return path

    def remember_source(self, source: str, keep: int = 8) -> None:
        source = absolute_source(source)
        self.source = source
        if source and not source.isdigit():
            self.recent = [source] + [s for s in self.recent if s != source][:keep - 1]


def absolute_source(source: str) -> str:
    """A file or folder as an absolute path (a relative one would point elsewhere when the app is started from
    another folder); a camera index or a URL as it is."""
    source = source.strip()
    if not source or source.isdigit() or "://" in source:
        return source
    return os.path.abspath(os.path.expanduser(source))
