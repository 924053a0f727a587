"""The configuration file: every setting of `livecap run`, `livecap process` and the desktop app (`livecap gui`) in
TOML, read before the command line, which overrides it. Values go through the same parsers as the flags, so a bad
value gets the flag's own message. The stream sections (one per stream kind, and [streaming]) come from the table of
stream kinds (livecap.sinks.osc.kinds).

Found at `--config FILE`, else $LIVECAP_CONFIG, else the user config folder (~/.config/livecap/config.toml on
Linux). `livecap config --show` prints every setting, its current value and what it does.
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from pathlib import Path

from livecap.errors import LivecapError
from livecap.sinks.osc.kinds import KINDS, StreamKind, config_sections

# section -> key -> the flag's destination (argparse dest); the streams' sections come from their table
SETTINGS: dict[str, dict[str, str]] = {
    "pipeline": {"preset": "preset", "smoothing": "smoothing", "fov": "fov", "calibration": "calibration",
                 "height": "height", "providers": "providers", "model_dir": "model_dir", "hands": "hands",
                 "face": "face", "gpu_precision": "gpu_precision", "detect_ahead": "detect_ahead"},
    "live": {"source": "source", "paced": "paced", "camera_size": "camera_size", "camera_fps": "camera_fps",
             "mjpg": "mjpg"},
    "bvh": {"directory": "bvh", "units": "bvh_units", "order": "bvh_order", "fps": "bvh_fps",
            "min_seconds": "bvh_min_seconds"},
    # a file's two passes (`livecap process`, `livecap batch`)
    "refine": {"causal": "causal", "landmark_model": "landmark_model"},
}


def sections(kinds: tuple[StreamKind, ...] = KINDS) -> dict[str, dict[str, str]]:
    """Every section of the file: section -> key -> dest."""
    return {**SETTINGS, **config_sections(kinds)}


def default_path() -> Path:
    if os.environ.get("LIVECAP_CONFIG"):
        return Path(os.environ["LIVECAP_CONFIG"])
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    return base / "livecap" / "config.toml"


def read_config(path: Path, required: bool) -> dict:
    if not path.exists():
        if required:
            raise LivecapError(f"config file {path} not found: check the path given to --config")
        return {}
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except tomllib.TOMLDecodeError as exc:
        raise LivecapError(f"config file {path} is not valid TOML ({exc}): fix that line") from None
    except OSError as exc:
        raise LivecapError(f"cannot read config file {path} ({exc.strerror})") from None


def _actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {action.dest: action for action in parser._actions}


def _owners(references: list[argparse.ArgumentParser]) -> dict[str, tuple[argparse.Action, argparse.ArgumentParser]]:
    """Each flag's destination -> its action and the first of the commands that has it."""
    out: dict[str, tuple[argparse.Action, argparse.ArgumentParser]] = {}
    for parser in references:
        for dest, action in _actions(parser).items():
            out.setdefault(dest, (action, parser))
    return out


def _convert(action: argparse.Action, value, where: str):
    """A TOML value through the flag's own parser."""
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction, argparse.BooleanOptionalAction)):
        if not isinstance(value, bool):
            raise LivecapError(f"{where} must be true or false, not {value!r}")
        return value
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    if isinstance(value, (bool, dict)):
        raise LivecapError(f"{where} = {value!r} is not a valid value: see `livecap config --show`")
    try:
        converted = action.type(str(value)) if action.type else str(value)
    except (argparse.ArgumentTypeError, ValueError, TypeError) as exc:
        raise LivecapError(f"{where} = {value!r}: {exc or 'not a valid value'}") from None
    if action.choices is not None and converted not in action.choices:
        raise LivecapError(f"{where} = {value!r}: choose one of {', '.join(map(str, action.choices))}")
    return converted


def settings_from(config: dict, path: Path, references: list[argparse.ArgumentParser],
                  kinds: tuple[StreamKind, ...] = KINDS) -> dict[str, object]:
    """{argparse dest: value} from a parsed config file, each value checked by the flag of the first of the
    `references` (commands) that has it; unknown sections or keys and bad values are errors."""
    owners, table = _owners(references), sections(kinds)
    out = {}
    for section, keys in config.items():
        if section not in table:
            raise LivecapError(f"config {path}: unknown section [{section}]: the sections are {', '.join(table)}")
        if not isinstance(keys, dict):
            raise LivecapError(f"config {path}: {section} must be a [section] of settings")
        for key, value in keys.items():
            if key not in table[section]:
                raise LivecapError(f"config {path}: unknown key {key!r} in [{section}]: the keys there are "
                                   f"{', '.join(table[section])}")
            dest = table[section][key]
            out[dest] = _convert(owners[dest][0], value, f"config {path}: [{section}] {key}")
    return out


def apply(settings: dict[str, object], parsers: list[argparse.ArgumentParser]) -> None:
    """The file's values become the flags' defaults, in every command that has them (or, as the desktop app's
    [live] source, a default without a flag)."""
    for parser in parsers:
        known = set(_actions(parser)) | set(parser._defaults)
        parser.set_defaults(**{dest: value for dest, value in settings.items() if dest in known})


def _toml_value(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], int) and isinstance(value[0], str):
        return f'"{value[0]}:{value[1]}"'  # a destination
    if isinstance(value, (tuple, list)):
        if len(value) == 2 and all(isinstance(v, int) for v in value):
            return f'"{value[0]}x{value[1]}"'  # a size
        return '"' + ",".join(map(str, value)) + '"'
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _flags(action: argparse.Action) -> str:
    """The flag as --help names it: both forms of an on/off flag (--hands, --no-hands), else the long one."""
    if isinstance(action, argparse.BooleanOptionalAction):
        return ", ".join(action.option_strings)
    return max(action.option_strings, key=len)


def show(references: list[argparse.ArgumentParser], path: Path, kinds: tuple[StreamKind, ...] = KINDS) -> str:
    """Every setting as TOML, with its current value (or commented out when unset) and its help, from the first
    of the `references` (commands) that has its flag."""
    owners = _owners(references)
    lines = [f"# livecap settings: {path}{'' if path.exists() else ' (not present: defaults shown)'}",
             "# flags on the command line override these"]
    for section, keys in sections(kinds).items():
        lines.append(f"\n[{section}]")
        for key, dest in keys.items():
            action, parser = owners[dest]
            lines.append(f"# {_flags(action)}: {(action.help or '').replace(chr(10), ' ')}")
            value = _toml_value(parser.get_default(dest))
            lines.append(f"{key} = {value}" if value is not None else f"# {key} =")
    return "\n".join(lines) + "\n"
