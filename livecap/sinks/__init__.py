"""Outputs fed with FrameResults: JSONL results, BVH recordings, OSC streams."""
