"""``python -m ssa_seg.synthscenes``: see :func:`ssa_seg.synthscenes.main`."""
import sys

from . import main

sys.exit(main())
