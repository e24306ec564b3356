"""``python -m jitnet ...``: the same as the ``jitnet`` command."""
import sys

from .cli import main

sys.exit(main())
