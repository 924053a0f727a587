"""Whether the skeleton solver still has to be compiled on this machine (Numba, cache=True), so that the first run
says what it is doing instead of sitting silent through the compile.

The answer is Numba's own: a function's cache index holds, per compiled signature, the CPU and Numba it was
compiled for and a hash of the function's bytecode, and Numba drops the whole index when its source file changed.
A module of the fit counts as compiled here when any of its cached functions has code for this CPU and this
bytecode: a run compiles every function it calls, and some functions (the tools') a run never calls.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

# The first `livecap process samples/two_people.mp4` of a fresh clone and venv takes this much more CPU time than
# the second (30.3 and 32.2 s, numba 0.68.1, x86-64 with AVX-512): the compile runs on one core, so it is the wait
# on a machine with a core to spare (41-53 s on a 2-core one running other work). README "Troubleshooting".
COMPILE_SECONDS = 30
FIT_PACKAGE = "livecap.pose.fitting"
HANDS_MODULE = "livecap.pose.fitting.fingers"  # compiled only when hands are on


def compile_notice(hands: bool) -> str | None:
    """The line to show before a run that will compile the solver; None when its compiled code is cached."""
    if not solver_needs_compiling(hands):
        return None
    return f"preparing the skeleton solver once, about {COMPILE_SECONDS} s (later runs reuse it)"


def solver_needs_compiling(hands: bool) -> bool:
    try:
        return any(not _compiled_here(module) for module in _fit_modules(hands))
    except Exception:  # noqa: BLE001 - Numba's cache internals changed: say nothing rather than something wrong
        return False


def _fit_modules(hands: bool) -> list[ModuleType]:
    package = importlib.import_module(FIT_PACKAGE)
    names = [f"{FIT_PACKAGE}.{info.name}" for info in pkgutil.iter_modules(package.__path__)]
    return [importlib.import_module(name) for name in names if hands or name != HANDS_MODULE]


def _cached_functions(module: ModuleType) -> list:
    from numba.core.caching import FunctionCache
    from numba.core.dispatcher import Dispatcher

    return [value for value in vars(module).values() if isinstance(value, Dispatcher)
            and value.__module__ == module.__name__ and isinstance(value._cache, FunctionCache)]


def _compiled_here(module: ModuleType) -> bool:
    functions = _cached_functions(module)
    return not functions or any(_has_code_for_this_machine(function) for function in functions)


def _has_code_for_this_machine(function) -> bool:
    cache = function._cache
    _, machine, bytecode = cache._index_key(None, function.targetctx.codegen())
    return any(key[1:] == (machine, bytecode) for key in cache._cache_file._load_index())
