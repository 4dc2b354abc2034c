"""Fixtures of the fault scenarios: the accounting report and the logger under test.

`accounting` collects each scenario's `Accounting` lines, prints them at once (visible with
`pytest -s`) and again when the test ends, through `capsys.disabled()`, so CI logs show them
without `-s`. Each line is also a user property of the test's report, which pytest-xdist carries
from its workers to the main process: the terminal summary there repeats all of them at the end
of the run (tests/conftest.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from conftest import ACCOUNTING_PROPERTY

from faults.accounting import Accounting


class Report:
    def __init__(self, scenario: str, properties: list[tuple[str, object]]) -> None:
        self.scenario = scenario
        self.properties = properties
        self.started = time.monotonic()
        self.lines: list[str] = []

    def add(self, accounting: Accounting | str) -> None:
        if isinstance(accounting, Accounting):
            accounting.seconds = time.monotonic() - self.started
            line = accounting.line()
        else:
            line = f"[accounting] {self.scenario}: {accounting}"
        self.lines.append(line)
        self.properties.append((ACCOUNTING_PROPERTY, line))
        print(line, flush=True)


@pytest.fixture
def accounting(request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
               ) -> Iterator[Report]:
    report = Report(request.node.name, request.node.user_properties)
    yield report
    with capsys.disabled():
        print()
        for line in report.lines or [f"[accounting] {report.scenario}: no accounting recorded"]:
            print(line, flush=True)
