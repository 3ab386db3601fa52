"""Shared scope, context and helpers for the condition language's tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal

import pytest

from commitrules.expr import FieldType, Scope, StaticContext, TableInfo, compile_expression

F = FieldType

FIELDS: dict[str, FieldType] = {
    "product_risk": F("int"),
    "recorded": F("bool"),
    "approved": F("bool"),
    "text": F("str", optional=True),
    "title": F("str"),
    "product_id": F("str"),
    "customer_age": F("int", optional=True),
    "sections": F("list"),
    "tags": F("list", optional=True),
    "data_class": F("str"),
    "staff_role": F("str"),
    "amount": F("decimal"),
    "fee": F("decimal", optional=True),
    "channel": F("str"),
    "opened": F("datetime"),
    "closed": F("datetime", optional=True),
    "flag": F("bool", optional=True),
    "note": F("any"),
}

SCOPE = Scope(
    fields=FIELDS,
    prior_fields={"risk_level": F("int", optional=True), "amount": F("decimal", optional=True)},
    params={
        "banned_phrases": F("list"),
        "elderly_age": F("int"),
        "limit": F("decimal", optional=True),
        "threshold": F("int"),
        "fixed_phrases": F("list"),
        "nothing": F("int", optional=True),
        "levels": F("list"),
    },
    constant_params={
        "elderly_age": 65,
        "fixed_phrases": ["Guaranteed", "\uff32\uff29\uff33\uff2b-free"],  # full-width RISK
        "nothing": None,
        "levels": ["low", "high"],
    },
    tables={
        "products": TableInfo(
            {
                "product_id": F("str"),
                "risk_level": F("int"),
                "name": F("str", optional=True),
                "extra": F("any"),
            },
            key="product_id",
        ),
        "access_matrix": TableInfo({"key": F("str")}),
    },
)

CONTEXT = StaticContext(
    params={
        "banned_phrases": ["guaranteed return", "\uff52\uff49\uff53\uff4b-free"],
        "threshold": 3,
        "limit": Decimal("10.5"),
        "levels": ["low", "high"],
    },
    tables={
        "products": {
            "P1": {"product_id": "P1", "risk_level": 3, "name": "Fund", "extra": "x"},
            "P2": {"product_id": "P2", "risk_level": 5, "name": None, "extra": 7},
        },
        "access_matrix": {"analyst:confidential": {"key": "analyst:confidential"}},
    },
)

OPENED = dt.datetime(2026, 7, 1, 10, 0, tzinfo=dt.UTC)


def make_event(**changes: object) -> dict[str, object]:
    """An event with every field of FIELDS, overridden by ``changes``."""
    event: dict[str, object] = {
        "product_risk": 4,
        "recorded": False,
        "approved": True,
        "text": "Our fund offers a Guaranteed Return",
        "title": "Fund",
        "product_id": "P1",
        "customer_age": 70,
        "sections": ["product", "risk", "fees"],
        "tags": None,
        "data_class": "confidential",
        "staff_role": "analyst",
        "amount": Decimal("2000000"),
        "fee": None,
        "channel": "branch",
        "opened": OPENED,
        "closed": None,
        "flag": None,
        "note": None,
    }
    event.update(changes)
    return event


Evaluate = Callable[..., object]


def _evaluate(
    condition: str,
    event: Mapping[str, object] | None = None,
    prior: Mapping[str, object] | None = None,
    /,
    *,
    ctx: StaticContext = CONTEXT,
    scope: Scope = SCOPE,
    require_bool: bool = True,
    **changes: object,
) -> object:
    compiled = compile_expression(condition, scope, require_bool=require_bool)
    return compiled(event if event is not None else make_event(**changes), prior, ctx)


@pytest.fixture(scope="session")
def scope() -> Scope:
    """The scope most tests compile against."""
    return SCOPE


@pytest.fixture(scope="session")
def context() -> StaticContext:
    """Parameters and tables matching SCOPE."""
    return CONTEXT


@pytest.fixture(scope="session")
def evaluate() -> Evaluate:
    """Compile a condition over SCOPE and evaluate it: evaluate(text, **field_changes)."""
    return _evaluate


@pytest.fixture(scope="session")
def event_factory() -> Callable[..., dict[str, object]]:
    """make_event: an event with every field of SCOPE, overridden by keyword arguments."""
    return make_event
