"""``python -m autograder.grading ...``: the grading tool's command line."""

import sys

from .cli import main

sys.exit(main())
