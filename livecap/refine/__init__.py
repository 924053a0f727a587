"""Takes refined after capture: two passes over a file (livecap.refine.core)."""

from livecap.refine.core import RefinedTake, RefineSettings, refine
from livecap.refine.take import Take, TakeRecorder

__all__ = ["RefineSettings", "RefinedTake", "Take", "TakeRecorder", "refine"]
