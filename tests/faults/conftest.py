"""Fixtures of the fault scenarios: the accounting report and the logger under test.

`accounting` collects each scenario's `Accounting` lines, prints them at once (visible with
`pytest -s`) and again when the test ends, through `capsys.disabled()`, so CI logs show them
without `-s`; the terminal summary repeats all of them at the end of the run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from faults.accounting import Accounting

_ALL_LINES: list[str] = []


class Report:
    def __init__(self, scenario: str) -> None:
        self.scenario = scenario
        self.started = time.monotonic()
        self.lines: list[str] = []

    def add(self, accounting: Accounting | str) -> None:
        if isinstance(accounting, Accounting):
            accounting.seconds = time.monotonic() - self.started
            line = accounting.line()
        else:
            line = f"[accounting] {self.scenario}: {accounting}"
        self.lines.append(line)
        _ALL_LINES.append(line)
        print(line, flush=True)


@pytest.fixture
def accounting(request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
               ) -> Iterator[Report]:
    report = Report(request.node.name)
    yield report
    with capsys.disabled():
        print()
        for line in report.lines or [f"[accounting] {report.scenario}: no accounting recorded"]:
            print(line, flush=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _ALL_LINES:
        terminalreporter.section("fault scenario accounting")
        for line in _ALL_LINES:
            terminalreporter.write_line(line)
