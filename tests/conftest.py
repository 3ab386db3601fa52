"""Shared fixtures and the hypothesis profiles.

The default profile keeps the suite fast on two cores and derandomized (the same examples
on every run, so CI is reproducible); run the thorough one, random and a thousand examples
per property, with ``pytest --hypothesis-profile=thorough`` (or ``HYPOTHESIS_PROFILE=thorough``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import commitrules

settings.register_profile(
    "default",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
    # The same examples on every run: CI is reproducible; the thorough profile explores.
    derandomize=True,
)
settings.register_profile(
    "thorough",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parent.parent
MINI = ROOT / "tests" / "packs" / "mini"

#: A marketing text with a banned promise: one C1.marketing violation.
MARKETING = {
    "id": "m1",
    "type": "marketing_published",
    "at": "2026-07-01T09:00:00+08:00",
    "material_id": "M-1",
    "channel": "wechat",
    "approved": True,
    "text": "保本保收益",
}


@pytest.fixture(scope="session")
def mini_pack() -> commitrules.Pack:
    """A small pack with one rule of every kind (tests/packs/mini)."""
    return commitrules.load_pack(MINI)


@pytest.fixture(scope="session")
def default_pack() -> commitrules.Pack:
    """The bundled default pack, cn profile."""
    return commitrules.load_pack()
