import os

import numpy as np
import pytest

# Helpers in this folder (tiny_models, ...) are importable through pytest.ini's `pythonpath`.
os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')


@pytest.fixture
def rng_image():
    """A deterministic 48 x 64 RGB uint8 image."""
    return np.random.default_rng(0).integers(0, 256, size=(48, 64, 3), dtype=np.uint8)
