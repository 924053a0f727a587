"""Errors a user can cause and fix. Their message is one line: what went wrong, with what, and the fix."""


class LivecapError(Exception):
    """Base of every user-facing failure; the command line prints it without a traceback."""


class ModelError(LivecapError):
    """A model file is missing, truncated, altered or unreadable."""


class RuntimeMissingError(LivecapError):
    """No ONNX Runtime package is installed."""


class SourceError(LivecapError):
    """An input (file, folder, camera, stream) cannot be opened or read."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (a service manager, `timeout`, a closed terminal), handled as gracefully as Ctrl-C."""


class OutputError(LivecapError):
    """An output (results, recording) cannot be written."""
