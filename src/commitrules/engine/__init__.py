"""The engine: events in, routed violations out, in event time, deterministically.

The public surface is :class:`Engine`, its :class:`EngineStats` and the :class:`Outcome`
records of its outcome sink. The working parts are private modules along the seams of
one call: intake (``_intake``: duplicates, lateness, the future guard), time (``_time``:
timers and their order), release (``_findings``: a finding becomes a routed, rendered
violation; ``_release``: rendering, protection, sinks), atomicity (``_atomic``:
checkpoint and replay), snapshots (``_snapshot``) and the orchestration (``_engine``).
The engine's parts share one declaration of its state (``_parts``).
"""

from __future__ import annotations

from ._engine import Engine, EngineStats
from ._release import EvidenceMode, Outcome

__all__ = ["Engine", "EngineStats", "EvidenceMode", "Outcome"]
