"""`python -m banyan` is the `banyan` command."""

import sys

from .cli.main import main

sys.exit(main())
