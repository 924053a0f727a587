"""Entry point of the frozen livecap (PyInstaller). Same as `python -m livecap`, plus one hidden check of the
bundle itself: `livecap --bundle-selftest [--gl] [--shot FILE]` (see bundle_selftest.py)."""

import multiprocessing
import sys


def _main() -> int:
    multiprocessing.freeze_support()
    if len(sys.argv) > 1 and sys.argv[1] == "--bundle-selftest":
        from bundle_selftest import main as selftest

        return selftest(sys.argv[2:])
    from livecap.app.cli import main

    return main(leave_at_once=True)


if __name__ == "__main__":
    sys.exit(_main())
