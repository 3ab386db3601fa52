"""The durable-rules backend (``pip install commitrules[durable]``).

``Engine(pack, backend="durable")`` calls :func:`build` instead of ``pack.build()``: every
rule of the pack is compiled to a durable-rules ruleset in its JSON form, and the rule's
matching runs in durable's Rete network. The engine around the rules (validation,
duplicates, watermark, event-time order, timers, routing, violation ids and messages,
snapshots of the frame) is the same for both backends, so both give the same violations;
the test suite checks that on generated streams.

See ``docs/backends.md`` for how each kind maps to Rete, what is computed in Python and
why, and when to choose which backend.
"""

from __future__ import annotations

import sys
from typing import Any

from ..errors import CommitRulesError
from ..pack import Pack, PackRuntime

__all__ = ["build"]


def build(pack: Pack) -> PackRuntime:
    """Compile a pack's rules to durable-rules rulesets, one Host per call (per engine).

    Raises:
        CommitRulesError: durable-rules is not installed, or a rule uses something the
            durable backend cannot express (the message names the rule and why).
    """
    _import_durable()
    from ._durable_compile import compile_pack  # noqa: PLC0415 - imports durable

    runtime: Any = compile_pack(pack)
    assert isinstance(runtime, PackRuntime)
    return runtime


def _import_durable() -> None:
    """Import durable-rules, or say why it cannot: not installed, or installed but broken."""
    try:
        import durable.engine  # noqa: F401, PLC0415
    except ModuleNotFoundError as error:
        if error.name not in ("durable", "durable.engine"):
            _cannot_import(error)
        msg = "the durable backend needs durable-rules, which is not installed: " + (
            "pip install 'commitrules[durable]'"
            if sys.version_info < (3, 13)
            else "it cannot run on Python 3.13 or later (see docs/backends.md); use the native "
            "backend, or Python 3.12 or older for this one"
        )
        raise CommitRulesError(msg) from None
    except ImportError as error:
        _cannot_import(error)


def _cannot_import(error: ImportError) -> None:
    version = ".".join(map(str, sys.version_info[:2]))
    msg = f"durable-rules is installed but cannot be imported on Python {version}: {error}"
    if "PyEval_CallObject" in str(error):
        # The C extension of durable-rules 2.0.28 (2020) calls a function Python 3.13 removed.
        msg += (
            " (durable-rules 2.0.28 uses a C API that Python 3.13 removed; use the native "
            "backend, or Python 3.12 or older for this one)"
        )
    raise CommitRulesError(msg) from error
