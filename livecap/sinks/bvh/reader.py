"""Parse BVH text into livecap.sinks.bvh.format.Bvh. Every malformed input raises BvhFormatError naming the line.

Tolerant of what real writers do: keywords in any case, tab or space indentation, braces on the keyword's line,
joint names with colons or spaces, any channel order per joint (rotation before position too), joints without an
End Site, high-precision frame times. Parsing is iterative (no recursion), so deep nesting cannot crash it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from livecap.sinks.bvh.format import CHANNEL_NAMES, Bvh, BvhFormatError, Joint

_CHANNELS_BY_KEY = {name.lower(): name for name in CHANNEL_NAMES}


class _Tokens:
    """Whitespace-separated tokens of the hierarchy with their line numbers."""

    def __init__(self, lines: list[str], source: str):
        self.items: list[tuple[str, int]] = []
        self.source = source
        for number, line in enumerate(lines, 1):
            for token in line.replace("{", " { ").replace("}", " } ").split():
                self.items.append((token, number))
        self.at = 0

    def error(self, problem: str, line: int | None = None) -> BvhFormatError:
        if line is None:
            line = self.items[min(self.at, len(self.items) - 1)][1] if self.items else 1
        return BvhFormatError(self.source, line, problem)

    def next(self, what: str) -> tuple[str, int]:
        if self.at >= len(self.items):
            raise self.error(f"file ends where {what} was expected")
        self.at += 1
        return self.items[self.at - 1]

    def peek(self) -> str | None:
        return self.items[self.at][0] if self.at < len(self.items) else None

    def expect(self, word: str) -> int:
        token, line = self.next(repr(word))
        if token.lower() != word.lower():
            raise self.error(f"expected {word!r}, found {token!r}", line)
        return line

    def number(self, what: str) -> float:
        token, line = self.next(what)
        return _finite(token, what, self.source, line)

    def rest_of_line(self, line: int) -> list[str]:
        words = []
        while self.at < len(self.items) and self.items[self.at][1] == line and self.items[self.at][0] != "{":
            words.append(self.items[self.at][0])
            self.at += 1
        return words


def _finite(token: str, what: str, source: str, line: int) -> float:
    try:
        value = float(token)
    except ValueError:
        raise BvhFormatError(source, line, f"{what} is not a number: {token[:40]!r}") from None
    if not math.isfinite(value):
        raise BvhFormatError(source, line, f"{what} is not finite: {token[:40]!r}")
    return value


def _offset(tokens: _Tokens) -> np.ndarray:
    tokens.expect("OFFSET")
    return np.array([tokens.number(f"OFFSET {axis}") for axis in "xyz"])


def _channels(tokens: _Tokens) -> tuple[str, ...]:
    line = tokens.expect("CHANNELS")
    count = tokens.number("channel count")
    if count != int(count) or not 0 <= count <= 6:
        raise tokens.error(f"channel count must be 0 to 6, found {count:g}", line)
    names = []
    for _ in range(int(count)):
        token, where = tokens.next("a channel name")
        if token.lower() not in _CHANNELS_BY_KEY:
            raise tokens.error(f"unknown channel {token[:40]!r} (expected X/Y/Z position or rotation)", where)
        names.append(_CHANNELS_BY_KEY[token.lower()])
    if len(set(names)) != len(names):
        raise tokens.error("a channel is listed twice", line)
    return tuple(names)


def _joint(tokens: _Tokens, keyword: str, parent: int, joints: list[Joint]) -> None:
    """Reads one `ROOT|JOINT name { OFFSET CHANNELS ... }` header up to its children."""
    line = tokens.expect(keyword)
    name = " ".join(tokens.rest_of_line(line))
    if not name:
        raise tokens.error(f"{keyword} without a name", line)
    tokens.expect("{")
    offset = _offset(tokens)
    channels = _channels(tokens)
    first = sum(len(j.channels) for j in joints)
    joints.append(Joint(name, parent, offset, channels, None, first))


def _end_site(tokens: _Tokens, joint: Joint) -> None:
    line = tokens.expect("End")
    tokens.expect("Site")
    if joint.end_site is not None:
        raise tokens.error(f"joint {joint.name!r} has two End Sites", line)
    tokens.expect("{")
    joint.end_site = _offset(tokens)
    tokens.expect("}")


def _hierarchy(tokens: _Tokens) -> list[Joint]:
    tokens.expect("HIERARCHY")
    joints: list[Joint] = []
    _joint(tokens, "ROOT", -1, joints)
    open_joints = [0]  # the joints whose '}' is still to come
    while open_joints:
        token, line = tokens.next("JOINT, End Site or '}'")
        tokens.at -= 1
        word = token.lower()
        if word == "joint":
            _joint(tokens, "JOINT", open_joints[-1], joints)
            open_joints.append(len(joints) - 1)
        elif word == "end":
            _end_site(tokens, joints[open_joints[-1]])
        elif word == "}":
            tokens.at += 1
            open_joints.pop()
        elif word == "root":
            raise tokens.error("a second ROOT: one skeleton per file is supported", line)
        else:
            raise tokens.error(f"expected JOINT, End Site or '}}', found {token[:40]!r}", line)
    if tokens.peek() is not None:
        token, line = tokens.next("")
        raise tokens.error(f"expected MOTION after the hierarchy, found {token[:40]!r}", line)
    names = [j.name for j in joints]
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise BvhFormatError(tokens.source, None, f"joint name {duplicate!r} is used twice")
    return joints


def _skip_blank(lines: list[str], at: int) -> int:
    while at < len(lines) and not lines[at].strip():
        at += 1
    return at


def _header_value(lines: list[str], at: int, label: str, source: str) -> str:
    """The value after `Frames:` / `Frame Time:` on line `at` (0-based)."""
    if at >= len(lines):
        raise BvhFormatError(source, at + 1, f"file ends where '{label}:' was expected")
    text = lines[at].strip()
    head, colon, value = text.partition(":")
    if not colon or " ".join(head.split()).lower() != label.lower() or not value.strip():
        raise BvhFormatError(source, at + 1, f"expected '{label}: value', found {text[:40]!r}")
    return value.strip()


def _motion(lines: list[str], start: int, channels: int, source: str, strict: bool) -> tuple[int, list[list[float]],
                                                                                              list[str]]:
    """Frame lines from line index `start`; lenient reading stops at the first broken line (repair)."""
    rows, notes = [], []
    for at in range(start, len(lines)):
        words = lines[at].split()
        if not words:
            continue
        try:
            if len(words) != channels:
                raise BvhFormatError(source, at + 1, f"frame has {len(words)} values, the hierarchy has "
                                                     f"{channels} channels")
            rows.append([_finite(w, "a channel value", source, at + 1) for w in words])
        except BvhFormatError as exc:
            if strict:
                raise _cut_off(exc) if not any(line.strip() for line in lines[at + 1:]) else exc
            notes.append(f"stopped at line {at + 1}: {exc.problem}")
            return at, rows, notes
    return len(lines), rows, notes


_REPAIR_HINT = "(an unfinished recording? try: livecap bvh repair {})"


def _cut_off(error: BvhFormatError) -> BvhFormatError:
    """A broken last frame is what a recording cut off mid-write leaves: the message says how to complete it."""
    return BvhFormatError(error.source, error.line, f"{error.problem} {_REPAIR_HINT.format(error.source)}")


def parse(text: str, source: str = "<bvh>", strict: bool = True) -> Bvh:
    """A Bvh from the text of a file. `strict=False` (repair) keeps the frames before a broken or missing tail
    and ignores the header's frame count."""
    lines = text.splitlines()
    motion_at = next((i for i, line in enumerate(lines) if line.strip().lower() == "motion"), None)
    joints = _hierarchy(_Tokens(lines[:motion_at], source))  # without MOTION: the whole file, for its errors
    if motion_at is None:
        raise BvhFormatError(source, len(lines) or 1, "no MOTION line: not a BVH file or cut off in its header")
    channels = sum(len(j.channels) for j in joints)
    frames_at = _skip_blank(lines, motion_at + 1)
    declared_text = _header_value(lines, frames_at, "Frames", source)
    if not declared_text.isdigit():
        raise BvhFormatError(source, frames_at + 1, f"frame count is not a whole number: {declared_text[:40]!r}")
    time_at = _skip_blank(lines, frames_at + 1)
    frame_time = _finite(_header_value(lines, time_at, "Frame Time", source), "Frame Time", source, time_at + 1)
    if frame_time < 0:
        raise BvhFormatError(source, time_at + 1, f"Frame Time is negative: {frame_time}")
    _, rows, notes = _motion(lines, time_at + 1, channels, source, strict)
    declared = int(declared_text)
    if strict and declared != len(rows):
        raise BvhFormatError(source, frames_at + 1, f"header says {declared} frames, the file has {len(rows)} "
                                                    + _REPAIR_HINT.format(source))
    motion = np.array(rows, np.float64).reshape(len(rows), channels)
    return Bvh(joints, frame_time, motion, source, notes)


def read(path: str | os.PathLike, strict: bool = True) -> Bvh:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BvhFormatError(str(path), None, f"cannot read ({exc.strerror}): check the path") from None
    return parse(data.decode("utf-8", errors="replace"), str(path), strict)
