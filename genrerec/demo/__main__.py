"""`python -m genrerec.demo`, what `make demo` runs."""

import sys

from .main import main

sys.exit(main())
