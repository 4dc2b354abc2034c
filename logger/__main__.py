"""`python -m logger` is the same as the `jullix-logger` command."""

import sys

from logger.cli.main import main

sys.exit(main())
