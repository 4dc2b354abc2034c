"""`python -m logger.testbed.simulator [flags]`: run the fake box without the main CLI."""

from __future__ import annotations

import argparse
import asyncio

from . import add_simulate_arguments, config_from_args, serve_forever


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m logger.testbed.simulator", description="Run the simulated Jullix box."
    )
    add_simulate_arguments(parser)
    asyncio.run(serve_forever(config_from_args(parser.parse_args(argv))))


if __name__ == "__main__":
    main()
