"""``python -m ssa_seg.zoo``: see :func:`ssa_seg.zoo.cli.main`."""
import sys

from .cli import main

sys.exit(main())
