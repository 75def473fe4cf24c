"""Data sets registered in mmsegmentation's ``DATASETS`` registry (importing registers them)."""
from .synthscenes import SynthScenesDataset

__all__ = ['SynthScenesDataset']
