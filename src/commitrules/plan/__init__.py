"""The stage plan: one pack split into keyed stages whose union equals the single engine.

Where one machine is not enough, a pack runs as stages that can each be partitioned by
one key: an admission stage that decides, in stream-position order, what the single
engine would accept; a stage per entity the rules keep state by (case, customer, staff,
...); the periodic rules counted in partitions and judged once; the thresholds that count
findings; the repeat escalations; and the release of the routed violations. A
distributed runner only moves data between them; :func:`run_plan` does it in process
(and is the reference every other runner must equal). A host that runs the stages itself
uses the engines :func:`run_plan` uses: :class:`AdmissionEngine` for the admission,
:class:`StageEngine` for every other stage (its findings carry their
:class:`Occurrence`; its state between micro-batches is :meth:`StageEngine.stage_state`),
each given every rule's place in the pack (:func:`rule_order`); a host that keeps
state per key splits a keyed stage's state with :func:`split_state`.

>>> import commitrules
>>> from commitrules.plan import plan_for, run_plan
>>> plan = plan_for(commitrules.load_pack())
>>> plan.stages[0].name, plan.stages[-1].name
('admission', 'release')
"""

from __future__ import annotations

from ..engine._stage import (
    AdmissionEngine,
    Occurrence,
    StageEngine,
    StageFinding,
    StageOutcome,
    rule_order,
)
from ._derive import plan_for
from ._model import Plan, Stage, StageKind
from ._order import StreamPosition, bucket_of
from ._runner import PlanResult, Reject, run_plan
from ._state import KEYED_FORMAT, KeyedState, key_of, split_state

__all__ = [
    "KEYED_FORMAT",
    "AdmissionEngine",
    "KeyedState",
    "Occurrence",
    "Plan",
    "PlanResult",
    "Reject",
    "Stage",
    "StageEngine",
    "StageFinding",
    "StageKind",
    "StageOutcome",
    "StreamPosition",
    "bucket_of",
    "key_of",
    "plan_for",
    "rule_order",
    "run_plan",
    "split_state",
]
