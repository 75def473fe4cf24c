import os
import sys

import numpy as np
import pytest

# Tests import helpers from this folder (tiny_models) and the project from the repo root.
sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')


@pytest.fixture
def rng_image():
    """A deterministic 48 x 64 RGB uint8 image."""
    return np.random.default_rng(0).integers(0, 256, size=(48, 64, 3), dtype=np.uint8)
