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
    try:
        import durable.engine  # noqa: F401, PLC0415
    except ImportError:
        msg = "the durable backend needs durable-rules: pip install 'commitrules[durable]'"
        raise CommitRulesError(msg) from None
    from ._durable_compile import compile_pack  # noqa: PLC0415 - imports durable

    runtime: Any = compile_pack(pack)
    assert isinstance(runtime, PackRuntime)
    return runtime
