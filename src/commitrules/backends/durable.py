"""The durable-rules backend (``pip install commitrules[durable]``): work in progress."""

from __future__ import annotations

from ..errors import CommitRulesError
from ..pack import Pack, PackRuntime

__all__ = ["build"]


def build(pack: Pack) -> PackRuntime:
    """Compile a pack's rules to durable-rules rulesets."""
    try:
        import durable.engine  # noqa: F401, PLC0415
    except ImportError:
        msg = "the durable backend needs durable-rules: pip install 'commitrules[durable]'"
        raise CommitRulesError(msg) from None
    msg = "the durable backend is not available in this version"
    raise CommitRulesError(msg)
