"""`python -m loadtest.demo`: the same as `ion-demo`."""

import sys

from loadtest.demo.cli import main

sys.exit(main())
