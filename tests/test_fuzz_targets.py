"""The fuzz targets stay runnable: a short seeded run of each, without atheris.

Every reader has a target (events, run log, decision log, snapshots and checkpoint
databases, waivers, packs) besides the condition compiler; each target holds its own
seeds, and each seed is run as it is and with a few random bytes changed.
"""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path
from types import ModuleType

import pytest

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"

#: Mutations per seed: the slow targets (a pack load, a checkpoint store) get fewer.
RUNS = {
    "fuzz_events": 20,
    "fuzz_expressions": 30,
    "fuzz_run_log": 6,
    "fuzz_audit_log": 15,
    "fuzz_snapshots": 15,
    "fuzz_waivers": 15,
    "fuzz_packs": 4,
}


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, FUZZ / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_fuzz_target_is_run_here() -> None:
    assert {path.stem for path in FUZZ.glob("fuzz_*.py")} == set(RUNS)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_a_fuzz_target_survives_random_inputs(name: str) -> None:
    module = load(name)
    rng = random.Random(7)
    assert module.SEEDS
    for seed in module.SEEDS:
        module.target(seed)
        for _ in range(RUNS[name]):
            data = bytearray(seed)
            for _ in range(rng.randint(1, 4)):
                if data:
                    data[rng.randrange(len(data))] = rng.randrange(256)
            module.target(bytes(data))
