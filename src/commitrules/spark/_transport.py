"""Findings, outcomes and partial counts between Spark tasks and the driver, as bytes.

A finding holds its rule's running object (:class:`~commitrules.rules._base.RuleRuntime`),
which is an engine's and cannot travel; it travels as the rule's id and is bound on
arrival to the receiving side's object of the same rule (a rule's runtime carries only
what the pack compiled, the same in every process). Read-only mappings travel as dicts.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ..rules._base import RuleRuntime

__all__ = ["dumps", "loads"]


def _proxy(value: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(value)


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, RuleRuntime):
            return ("rule", obj.rule_id)
        return None

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is MappingProxyType:
            return (_proxy, (dict(obj),))
        return NotImplemented


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, rules: Mapping[str, RuleRuntime]) -> None:
        super().__init__(io.BytesIO(data))
        self.rules = rules

    def persistent_load(self, pid: Any) -> Any:
        kind, rule_id = pid
        if kind != "rule" or rule_id not in self.rules:
            msg = f"a finding names the rule {rule_id!r}, which this pack does not have"
            raise pickle.UnpicklingError(msg)
        return self.rules[rule_id]


def dumps(value: Any) -> bytes:
    """``value`` as bytes, its rules by id."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


def loads(data: bytes, rules: Mapping[str, RuleRuntime]) -> Any:
    """The value back; each rule bound to ``rules[rule_id]``.

    Only bytes made by :func:`dumps` in the same job are read (never untrusted input).
    """
    return _Unpickler(data, rules).load()
