"""One durable-rules host per engine: isolated, quiet, and checked after every call.

durable-rules keeps a module-global host in ``durable.lang`` and starts two background
timer threads per :class:`durable.engine.Host`. Here every engine gets its own
:class:`Program`: a ``Host`` subclass whose ``_run`` starts no thread (time is the
engine's event time, never the wall clock), whose ruleset names carry a process-wide
build number (two engines, or two packs, never share a ruleset), and whose actions are
resolved by name (``get_action``) to one-argument closures that only *record* what
matched. Python acts on the record after durable returns, so no action ever re-enters
the engine, and an action cannot fail silently (durable would write the error into the
session state's ``exception``; the state is checked after every call anyway).

Facts are asserted and retracted (never posted: a posted event fires one rule only).
Each rule's ruleset lives in one session (``sid`` "0"); its rulesets are deleted from the
C engine when the program is garbage-collected.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import weakref
from collections.abc import Callable
from typing import Any

import attrs
import durable_rules_engine
from durable import engine as durable_engine

from ..errors import CommitRulesError, Location

__all__ = ["MAX_RULES", "Fired", "Prepared", "Program", "expand", "prepare"]

MAX_RULES = 500
"""Rules per ruleset: durable-rules hangs (no error) from 512 rules in one ruleset."""

Fired = list[tuple[str, dict[str, Any]]]
"""What matched during one call: (rule name, {alias: fact}) in durable's firing order."""

_BUILDS = itertools.count(1)


@attrs.frozen
class Prepared:
    """A ruleset's rules as checked, hardened JSON text (made once per pack)."""

    text: str


BRANCH = "~"
"""Separates a rule's name from the number of its branch (see :func:`expand`)."""

_MAX_BRANCHES = 64


def expand(rule_id: str, rules: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The same rules without ``$or``: one rule per branch, named ``name~k`` from the second.

    durable-rules 2.0.28 gets ``$or`` wrong in a pattern that compares with another
    pattern's fields (a join): a false join comparison *after* a ``$or`` is ignored
    (``$and: [$or: [a == 1, b == 2], c != p.c]`` fires with ``c == p.c``), and a ``$or``
    whose ``$and`` branch holds a false join comparison fails even when a later branch
    holds. durable compiles a ``$or`` into one path per branch anyway, so writing each
    branch of a join pattern as a rule of its own (its disjunctive normal form) matches
    the same facts; :class:`Program` reports every branch under the rule's name, once per
    set of facts. Patterns over their own fact only keep their ``$or``.

    Raises:
        CommitRulesError: a rule would need more than 64 branches.
    """
    out: dict[str, dict[str, Any]] = {}
    for name, rule in rules.items():
        choices: list[list[dict[str, Any]]] = []
        for item in rule["all"]:
            ((alias, condition),) = item.items()
            if "$" in alias or _alias(condition) is None:
                # A negated pattern ('n$not') stays whole; so does one that compares only
                # its own fact's fields (durable gets '$or' right there).
                choices.append([item])
                continue
            choices.append([{alias: _conjunction(terms)} for terms in _dnf(condition)])
        variants = list(itertools.islice(itertools.product(*choices), _MAX_BRANCHES + 1))
        if len(variants) > _MAX_BRANCHES:
            msg = (
                f"the durable backend would need more than {_MAX_BRANCHES} branches for "
                f"rule {name!r} (its conditions' 'or's multiply); simplify the condition "
                "or use the native backend"
            )
            raise CommitRulesError(msg, Location(rule_id=rule_id))
        for index, patterns in enumerate(variants):
            out[name if index == 0 else f"{name}{BRANCH}{index}"] = {**rule, "all": list(patterns)}
    return out


def _dnf(condition: Any) -> list[list[Any]]:
    """A condition as a list of conjunctions (lists of comparisons) of which one must hold."""
    if isinstance(condition, dict) and len(condition) > 1:
        return _dnf({"$and": [{key: value} for key, value in condition.items()]})
    if isinstance(condition, dict) and set(condition) == {"$and"}:
        result: list[list[Any]] = [[]]
        for part in condition["$and"]:
            result = [left + right for left in result for right in _dnf(part)]
            if len(result) > _MAX_BRANCHES:
                break  # the caller reports it
        return result
    if isinstance(condition, dict) and set(condition) == {"$or"}:
        return [terms for part in condition["$or"] for terms in _dnf(part)]
    return [[condition]]


def _conjunction(terms: list[Any]) -> Any:
    return terms[0] if len(terms) == 1 else {"$and": terms}


def prepare(rule_id: str, rules: dict[str, dict[str, Any]]) -> Prepared:
    """Check the size of a ruleset, expand its ``$or`` (:func:`expand`), harden its joins."""
    rules = expand(rule_id, rules)
    if len(rules) >= MAX_RULES:
        msg = (
            f"the durable backend would need {len(rules)} rules in one ruleset; "
            f"durable-rules hangs from 512, so at most {MAX_RULES - 1} are compiled"
        )
        raise CommitRulesError(msg, Location(rule_id=rule_id))
    definition = {
        rule_name: {**rule, "all": [rule["all"][0], *_harden(rule["all"][1:])]}
        for rule_name, rule in rules.items()
    }
    return Prepared(json.dumps(definition, ensure_ascii=False))


class _QuietHost(durable_engine.Host):  # type: ignore[misc]
    """A Host without the background timer threads, whose actions are named closures."""

    def __init__(self, actions: dict[str, Callable[[Any], None]]) -> None:
        self._named_actions = actions
        super().__init__()

    def _run(self) -> None:
        """No dispatch or timer threads: nothing happens outside the engine's calls."""

    def get_action(self, action_name: str) -> Callable[[Any], None]:
        return self._named_actions[action_name]


def _release(host: _QuietHost) -> None:
    """Free the C rulesets of a host nobody uses any more."""
    for ruleset in list(host._ruleset_list):
        with contextlib.suppress(Exception):  # best effort, at garbage collection
            durable_rules_engine.delete_ruleset(ruleset._handle)
    host._ruleset_list.clear()
    host._ruleset_directory.clear()


class Program:
    """The rulesets of one engine in one durable-rules host."""

    def __init__(self) -> None:
        self.build = next(_BUILDS)
        self._actions: dict[str, Callable[[Any], None]] = {}
        self._fired: Fired = []
        self.host = _QuietHost(self._actions)
        self._count = 0
        weakref.finalize(self, _release, self.host)

    def ruleset(self, rule_id: str, rules: Prepared | dict[str, dict[str, Any]]) -> str:
        """Register the rules of one commitrules rule; returns the ruleset's name."""
        prepared = rules if isinstance(rules, Prepared) else prepare(rule_id, rules)
        self._count += 1
        # Unique per engine in the process: never '$state' / '$flow' (chart suffixes).
        name = f"commitrules.b{self.build}.r{self._count}"
        # A fresh copy each time: register_rulesets deletes 'run' from what it is given.
        definition: dict[str, dict[str, Any]] = json.loads(prepared.text)
        fired = self._fired
        for rule_name, rule in definition.items():
            action = f"{name}/{rule_name}"
            self._actions[action] = _recorder(fired, rule_name.split(BRANCH, 1)[0])
            rule["run"] = action
        self.host.register_rulesets({name: definition})
        return name

    def assert_fact(self, ruleset: str, fact: dict[str, Any]) -> Fired:
        """Assert a fact that stays; what fired (every matching rule fires for a fact)."""
        fired, stored = self._assert(ruleset, fact)
        if not stored:
            msg = f"durable-rules did not keep the fact {fact.get('id')!r} of {ruleset}"
            raise CommitRulesError(msg)
        return fired

    def place(self, ruleset: str, fact: dict[str, Any]) -> Fired:
        """Assert a fact that stays if some pattern matches it (retract it by id later)."""
        return self._assert(ruleset, fact)[0]

    def probe(self, ruleset: str, fact: dict[str, Any]) -> Fired:
        """Assert a fact, let every matching rule fire, retract it; what fired."""
        fired, stored = self._assert(ruleset, fact)
        if stored:
            fired.extend(self.retract_fact(ruleset, fact["id"]))
        return fired

    def _assert(self, ruleset: str, fact: dict[str, Any]) -> tuple[Fired, bool]:
        fact["_j"] = "j"  # see _harden
        start = len(self._fired)
        stored = True
        try:
            state = self.host.assert_fact(ruleset, fact)
        except durable_engine.MessageNotHandledException:
            state = None  # matched no pattern at all: not stored
            stored = False
        except durable_engine.MessageObservedException:
            del self._fired[start:]
            msg = f"durable-rules already holds a fact with id {fact.get('id')!r}"
            raise CommitRulesError(msg) from None
        return self._collect(start, state, ruleset), stored

    def retract_fact(self, ruleset: str, fact_id: str) -> Fired:
        """Retract a fact by id (an unknown id is a no-op)."""
        start = len(self._fired)
        try:
            state = self.host.retract_fact(ruleset, {"id": fact_id})
        except durable_engine.MessageNotHandledException:
            state = None
        return self._collect(start, state, ruleset)

    def facts(self, ruleset: str) -> list[dict[str, Any]]:
        """The facts the ruleset's session holds."""
        try:
            found = self.host.get_facts(ruleset)
        except durable_rules_engine.error:
            return []  # no session yet
        return list(found)

    def _collect(self, start: int, state: Any, ruleset: str) -> Fired:
        if isinstance(state, dict) and state.get("exception"):
            problem = state["exception"]
            # Clear it, or every later call would report it again.
            clean = {k: v for k, v in state.items() if k != "exception"}
            self.host.update_state(ruleset, clean)
            del self._fired[start:]
            msg = f"an action of durable-rules ruleset {ruleset} failed: {problem}"
            raise CommitRulesError(msg)
        fired = self._fired[start:]
        del self._fired[start:]
        if len(fired) < 2:
            return fired
        # A rule's branches (see expand) are reported under its name: a fact that
        # satisfies two branches would fire it twice. A rule fires once per set of facts.
        seen: set[tuple[Any, ...]] = set()
        unique: Fired = []
        for rule_name, match in fired:
            key = (rule_name, *sorted((a, str(f.get("id"))) for a, f in match.items()))
            if key not in seen:
                seen.add(key)
                unique.append((rule_name, match))
        return unique


def _recorder(fired: Fired, rule_name: str) -> Callable[[Any], None]:
    # One positional parameter: durable takes a two-parameter function for an
    # asynchronous action that must call back, or the session stays locked.
    def record(c: Any) -> None:
        fired.append((rule_name, c._m))

    return record


def dumps(value: Any) -> str:
    """Canonical JSON text (for fact ids made of encoded keys)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _harden(condition: Any) -> Any:
    """Append an always-true equality reference to every ``$and`` that refers to an alias.

    durable-rules 2.0.28 reads past the end of an expression array (valgrind: invalid read
    in ``reduceExpressionSequence`` from ``isBetaMatch``; the process later crashes at
    random) when the last reference comparison of a join's sequence is an ordering one that
    comes out false (``{"$gt": {"_at": {"p": "_until"}}}`` for an expired prior). A trailing
    ``{"_j": {alias: "_j"}}`` (every fact carries ``_j``) keeps it on the safe path.
    """
    if isinstance(condition, list):
        return [_harden(item) for item in condition]
    if not isinstance(condition, dict):
        return condition
    out = {key: _harden(value) for key, value in condition.items()}
    parts = out.get("$and")
    if isinstance(parts, list):
        alias = next((a for a in map(_alias, parts) if a is not None), None)
        if alias is not None:
            out["$and"] = [*parts, {"_j": {alias: "_j"}}]
    return out


def _alias(part: Any) -> str | None:
    """An alias some comparison in ``part`` refers to (``{f: {alias: g}}``), if any."""
    if isinstance(part, list):
        return next((a for a in map(_alias, part) if a is not None), None)
    if not isinstance(part, dict):
        return None
    for key, value in part.items():
        if (
            not key.startswith("$")
            and isinstance(value, dict)
            and len(value) == 1
            and not next(iter(value)).startswith("$")
        ):
            return str(next(iter(value)))
        found = _alias(value)
        if found is not None:
            return found
    return None
