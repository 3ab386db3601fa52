"""A keyed stage's state split by key: what a host that keeps state per key stores.

A stage state (:meth:`~commitrules.plan.StageEngine.stage_state`) holds a whole
partition. Split by the stage's key, it becomes a *shared* part (the clock, the counts,
the events held back for lateness, the router, the rules' flags and every timer that is
not one key's) and one part per key value: the entries of the rules' state kept by that
key (a deadline's pending and fulfilled entries, a precedence rule's priors, a
threshold's groups) and that key's timers with their occurrences, with ``next_due_us``, the
event time of the key's next timer. Joined again, any set of key parts with the shared
part is a stage state of those keys; a micro-batch needs the keys its events name, the
keys whose timers fall due in it, and, when a rule's own timer (a threshold's or a
precedence rule's sweep, which reads every key of the rule) falls due in it, every key
of that rule (:meth:`KeyedState.needed`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from json.encoder import encode_basestring
from typing import Any

import attrs

from ..engine._stage import STATE_FORMAT, STATE_VERSION
from ..errors import SnapshotError

__all__ = ["KEYED_FORMAT", "KeyedState", "split_state"]

KEYED_FORMAT = "commitrules.keyed-state"
"""The format of a split state's parts (version :data:`STATE_VERSION`)."""

_BY_KEY = ("deadline", "precedence", "threshold")
"""Rule kinds whose state entries begin with the key they are kept by (its first field
is the stage's key: see :func:`commitrules.plan.plan_for`)."""


def key_of(value: Any) -> str:
    """A key value as the text a store keys it by (canonical JSON)."""
    if type(value) is str:  # the usual key: its JSON string, without building an encoder
        return encode_basestring(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@attrs.frozen
class KeyedState:
    """A stage state split by key: ``shared`` and ``keys`` (key text -> its part).

    Each part is JSON-ready: ``{"format": KEYED_FORMAT, "version": 1, "rules": {rule id:
    [entries]}, "fulfilled": {rule id: [entries]}, "timers": [...], "next_due_us": µs or
    None, "expires": {precedence rule id: µs}}`` (``expires``: when the first of the key's
    priors of each precedence rule ends); ``rule_due`` gives, per rule with a timer of its
    own, when it falls due.
    """

    shared: Mapping[str, Any]
    keys: Mapping[str, Mapping[str, Any]]
    rule_due: Mapping[str, int]
    held: frozenset[str] = frozenset()
    """The keys of the events held back for lateness (in the shared part): they are
    released in a later micro-batch, which needs their keys."""

    def needed(self, keys: Iterable[str], until_us: int | None) -> set[str]:
        """The keys a micro-batch must load: ``keys`` (those its events name), those of
        the events held back, those whose next timer falls due by ``until_us`` (None:
        every key), and for a rule whose own timer falls due by then, the keys that timer
        may change.

        A precedence rule's timer is its daily sweep, which forgets the priors that expired
        before it fires (no later than ``until_us``): it needs the keys holding a prior of
        the rule that ends before ``until_us`` (a part's ``expires``), and one other key
        of the rule, whose priors outlive the micro-batch, so that the rule knows it still
        holds priors and keeps sweeping as the single engine does. Any other rule's timer
        needs every key of the rule.
        """
        wanted = {key for key in (*keys, *self.held) if key in self.keys}
        if until_us is None:
            return set(self.keys)
        sweeping = {rule for rule, due in self.rule_due.items() if due <= until_us}
        kept: dict[str, str] = {}  # sweeping rule -> a key of it not loaded for the sweep
        for key, part in sorted(self.keys.items()):
            due = part["next_due_us"]
            if due is not None and due <= until_us:
                wanted.add(key)
                continue
            expires = part.get("expires", {})
            for rule in sweeping.intersection(part["rules"]):
                ends = expires.get(rule)
                if ends is None or ends < until_us:
                    wanted.add(key)
                else:
                    kept.setdefault(rule, key)
        for rule, key in kept.items():
            if not _outlives(self.keys, wanted, rule, until_us):
                wanted.add(key)
        return wanted

    def join(self, keys: Iterable[str]) -> dict[str, Any]:
        """The stage state of the shared part and these keys' parts."""
        state = json.loads(json.dumps(self.shared))
        snapshot = state["snapshot"]
        rules = snapshot["rules"]
        for key in sorted(keys):
            part = self.keys[key]
            for rule_id, entries in part["rules"].items():
                target = rules[rule_id]["state"]
                _entries(target, rules[rule_id]["kind"]).extend(entries)
            for rule_id, entries in part["fulfilled"].items():
                rules[rule_id]["state"]["fulfilled"].extend(entries)
            for fire_us, seq, rule_id, token, note in part["timers"]:
                snapshot["timers"].append([fire_us, seq, rule_id, token])
                if note is not None:
                    state["timers"].append(note)
        snapshot["timers"].sort(key=lambda timer: (timer[0], timer[1]))
        state["timers"].sort(key=lambda note: note[0])
        joined: dict[str, Any] = state
        return joined


def _outlives(
    keys: Mapping[str, Mapping[str, Any]], loaded: set[str], rule: str, until_us: int
) -> bool:
    """Whether a loaded key holds a prior of precedence ``rule`` that no sweep of this
    micro-batch forgets (one valid until ``until_us`` or later)."""
    for name in loaded:
        entries = keys[name]["rules"].get(rule, ())
        if any(entry[2] >= until_us for entry in entries):
            return True
    return False


def _entries(state: Any, kind: str) -> list[Any]:
    """The list of a rule's state entries kept by key (in place)."""
    entries: list[Any]
    if kind == "deadline":
        entries = state if isinstance(state, list) else state["pending"]
    elif kind == "precedence":
        entries = state["priors"]
    else:
        entries = state["groups"]
    return entries


def _empty(state: Any, kind: str) -> Any:
    if kind == "deadline":
        return {"pending": [], "fulfilled": []}
    if kind == "precedence":
        return {**state, "priors": []}
    return {**state, "groups": []}


def split_state(
    state: Mapping[str, Any], key_by_type: Mapping[str, Sequence[str]], *, copy: bool = True
) -> KeyedState:
    """Split a keyed stage's state (JSON-ready, as :meth:`StageEngine.stage_state` gives
    it) by the first field of the key each rule keeps its state by; ``key_by_type`` is
    the stage's (:attr:`Stage.key_by_type`), for the events held back. ``copy=False``
    takes the state as the caller's to give away (fresh from ``stage_state``, not used
    again): it is split in place instead of copied first.

    Raises:
        SnapshotError: not a stage state of this version.
    """
    if state.get("format") != STATE_FORMAT or state.get("version") != STATE_VERSION:
        msg = f"not a stage state of version {STATE_VERSION}"
        raise SnapshotError(msg)
    shared: dict[str, Any] = json.loads(json.dumps(state)) if copy else dict(state)
    snapshot = shared["snapshot"]
    parts: dict[str, dict[str, Any]] = {}

    def part(value: Any) -> dict[str, Any]:
        text = key_of(value)
        found = parts.get(text)
        if found is None:
            found = parts[text] = {
                "format": KEYED_FORMAT,
                "version": STATE_VERSION,
                "rules": {},
                "fulfilled": {},
                "timers": [],
                "next_due_us": None,
                "expires": {},
            }
        return found

    kinds: dict[str, str] = {}
    for rule_id, rule in snapshot["rules"].items():
        kind = rule["kind"]
        old = rule["state"]
        if kind not in _BY_KEY or old is None or not all(e[0] for e in _entries(old, kind)):
            continue  # kept whole in the shared part (no key to split by)
        kinds[rule_id] = kind
        rule["state"] = _empty(old, kind)
        for entry in _entries(old, kind):
            owner = part(entry[0][0])
            owner["rules"].setdefault(rule_id, []).append(entry)
            if kind == "precedence":  # [key, at µs, valid until µs, id, values]
                ends = owner["expires"].get(rule_id)
                owner["expires"][rule_id] = entry[2] if ends is None else min(ends, entry[2])
        if kind == "deadline" and isinstance(old, dict):
            for entry in old["fulfilled"]:
                part(entry[0][0])["fulfilled"].setdefault(rule_id, []).append(entry)
    notes = {note[0]: note for note in shared["timers"]}
    kept_timers: list[Any] = []
    kept_notes: list[Any] = []
    rule_due: dict[str, int] = {}
    for timer in snapshot["timers"]:
        fire_us, seq, rule_id, token = timer
        if kinds.get(rule_id) == "deadline" and isinstance(token, list):
            owner = part(token[0][0])
            owner["timers"].append([fire_us, seq, rule_id, token, notes.get(seq)])
            due = owner["next_due_us"]
            owner["next_due_us"] = fire_us if due is None else min(due, fire_us)
            continue
        kept_timers.append(timer)
        if seq in notes:
            kept_notes.append(notes[seq])
        if rule_id in kinds:
            rule_due[rule_id] = min(rule_due.get(rule_id, fire_us), fire_us)
    snapshot["timers"] = kept_timers
    shared["timers"] = kept_notes
    held = set()
    for _at_us, _seq, event, _prepared in snapshot["buffer"]:
        fields = key_by_type.get(event["type"], ())
        held.add(key_of(event.get(fields[0]) if fields else None))
    return KeyedState(shared=shared, keys=parts, rule_due=rule_due, held=frozenset(held))
