"""A simulated month on a dynamic contract, end to end: what the README's "What it cost" shows.

The simulator's house (seed 5: solar, a battery, an EV charger) is replayed over a Belgian month
(P1 telegrams decoded by the product's P1 decoder, inverter and battery polls by its local
parser, `power_flow` from the model's powers: `tests/ledger_data.py`) into a private influxd; the
day-ahead prices come from the simulator's fake Transparency Platform through `jullix-logger
prices fetch`'s function; then the real commands run in this process, as a user would type them:

    jullix-logger ledger --since M-01 --until M-last
    jullix-logger cost --since M-01 --until M-last
    jullix-logger report --cost --month M

with config.example.toml's commented example contract (Engie-Dynamic-like, Fluvius Antwerpen
2026: example numbers). The replay takes a few minutes (about 6 s per simulated day).

    .venv/bin/python benchmarks/cost_month.py [--month 2026-04]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import InfluxServer, write_config
from ledger_data import simulate

from logger.app.prices_load import fetch_prices
from logger.cli.main import main as cli
from logger.config import load_settings
from logger.core.belgian_time import BRUSSELS, day_bounds
from logger.ledger.periods import next_month
from logger.testbed.simulator import Simulator, SimulatorConfig

ROOT = Path(__file__).resolve().parent.parent


def example_tariff() -> str:
    """The commented [[tariff]] of config.example.toml, uncommented."""
    text = (ROOT / "config.example.toml").read_text()
    block = text[text.index("\n# [[tariff]]\n") + 1:]
    return "\n".join(line[2:] for line in block.splitlines()
                     if line.startswith("# ") and not line.startswith("# #")) + "\n"


async def prices(config: Path, first: date, last: date) -> None:
    settings = load_settings(config)
    sim_config = SimulatorConfig(seed=5, speed=0.0, start=datetime(2026, 12, 1, tzinfo=BRUSSELS),
                                 entsoe_token=settings.prices.token.get_secret_value())
    async with Simulator(sim_config) as sim:
        here = settings.model_copy(update={"prices": settings.prices.model_copy(
            update={"url": sim.entsoe_url})})
        await fetch_prices(here, day_bounds(first)[0], day_bounds(last)[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--month", default="2026-04", help="YYYY-MM (default 2026-04)")
    args = parser.parse_args()
    first = datetime.strptime(args.month, "%Y-%m").date()
    last = next_month(first) - timedelta(days=1)
    with tempfile.TemporaryDirectory(prefix="jullix-month-") as tmp, InfluxServer() as server:
        server.create_database("jullix")
        t0 = time.monotonic()
        start = datetime.fromtimestamp(day_bounds(first)[0] - 300, BRUSSELS)
        end = datetime.fromtimestamp(day_bounds(last)[1] + 300, BRUSSELS)
        history = simulate(start, end, step=300, seed=5, installation="home", power_flow=True)
        for i in range(0, len(history.lines), 5000):
            server.write("jullix", "\n".join(history.lines[i:i + 5000]))
        print(f"(replayed {args.month} in {time.monotonic() - t0:.0f} s: "
              f"{len(history.lines)} points)", file=sys.stderr)
        config = write_config(Path(tmp) / "config.toml", {
            "local": {"enabled": False},
            "influx": {"url": server.url, "database": "jullix", "timeout": 60.0},
            "outbox": {"path": str(Path(tmp) / "outbox.sqlite")},
            "ledger": {"gap": 600.0},
            "prices": {"token": "sim-entsoe-token"},
        }, installation="home")
        config.write_text(config.read_text() + example_tariff())
        asyncio.run(prices(config, first - timedelta(days=1), last))
        span = ["--since", first.isoformat(), "--until", last.isoformat()]
        for command in (["ledger", *span], ["cost", *span]):
            if cli([command[0], "-c", str(config), *command[1:]]):
                return 1
        print(f"\n$ jullix-logger report --cost --month {args.month}")
        return cli(["report", "-c", str(config), "--cost", "--month", args.month])


if __name__ == "__main__":
    sys.exit(main())
