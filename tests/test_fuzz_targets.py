"""The fuzz targets stay runnable: a short seeded run of each, without atheris."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path
from types import ModuleType

import pytest

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, FUZZ / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SEEDS = [
    b'{"id":"a","type":"sale","at":"2026-07-01T10:00:00+08:00"}',
    b'{"id":"a","type":"marketing_published","at":"2026-07-01T10:00:00+08:00",'
    b'"material_id":"m","channel":"x","text":"\xe4\xbf\x9d\xe6\x9c\xac","approved":true}',
    b"amount > params.limit and channel in params.words",
    b"age >= 65 or prior.level < 3",
    b"((((((((((",
    b"\x00\xff\xfe",
]


@pytest.mark.parametrize("name", ["fuzz_events", "fuzz_expressions"])
def test_a_fuzz_target_survives_random_inputs(name: str) -> None:
    module = load(name)
    rng = random.Random(7)
    for seed in SEEDS:
        module.target(seed)
        for _ in range(30):
            data = bytearray(seed)
            for _ in range(rng.randint(1, 4)):
                if data:
                    data[rng.randrange(len(data))] = rng.randrange(256)
            module.target(bytes(data))
