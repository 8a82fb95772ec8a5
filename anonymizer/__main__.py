"""``python -m anonymizer``: see :mod:`anonymizer.cli`."""

import sys

from anonymizer.cli import main

sys.exit(main())
