"""The sample clip shipped with livecap (samples/ in a source checkout, livecap/_samples once installed), so that a
fresh install, and the desktop app without a camera, has a video to run on."""

from __future__ import annotations

from pathlib import Path

SAMPLE_VIDEO = "two_people.mp4"


def sample_dir() -> Path:
    """samples/ beside the package in a source checkout, livecap/_samples once installed or bundled."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_samples", here.parent / "samples"):
        if (candidate / SAMPLE_VIDEO).is_file():
            return candidate
    return here / "_samples"


def sample_video() -> Path | None:
    """The sample clip (two people, 1080p, 2.6 s); None when this install has none (a trimmed bundle)."""
    path = sample_dir() / SAMPLE_VIDEO
    return path if path.is_file() else None
