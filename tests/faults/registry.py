"""The scenario registry: every fault scenario, the sources it accounts for, its time budget.

A scenario is a test function decorated with `@scenario(...)`; it gets the `integration` mark and
a pytest-timeout of its budget. `SCENARIOS` is what `test_registry.py` checks and what the
summary prints. A new source (P1, cloud) adds its ground truth to `accounting.GROUND_TRUTH` and
lists itself in `sources=` of the scenarios that exercise it; new scenarios register here too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from faults.accounting import GROUND_TRUTH


@dataclass(frozen=True)
class Scenario:
    name: str
    fault: str
    sources: tuple[str, ...]
    budget_s: float
    test: str


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, fault: str, sources: tuple[str, ...] = ("local",),
             budget_s: float = 120.0) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    unknown = set(sources) - set(GROUND_TRUTH)
    if unknown:
        raise ValueError(f"scenario {name}: no ground truth registered for {sorted(unknown)}")

    def register(test: Callable[..., Any]) -> Callable[..., Any]:
        if name in SCENARIOS:
            raise ValueError(f"scenario {name} registered twice")
        SCENARIOS[name] = Scenario(name, fault, sources, budget_s, test.__name__)
        test = pytest.mark.timeout(budget_s)(test)
        return pytest.mark.integration(test)

    return register
