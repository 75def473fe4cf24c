"""SSA-Seg Studio: the SSA-Seg adaptive pixel classifier for mmsegmentation.

``ssa_seg.classifier`` is pure PyTorch. Importing ``ssa_seg`` itself also registers the
``*_ssa`` decode heads and the SynthScenes dataset in mmsegmentation's registries (needs
mmsegmentation), and allow-lists the types of mmengine Runner checkpoints for
``torch.load(weights_only=True)``.
"""
from .classifier import SSAClassifier, SSAOutputs, TeacherOutputs, relation_matrix, ssa_losses

__version__ = '0.1.0'

try:
    import mmseg  # noqa: F401
except ImportError:  # the classifier alone works without mmsegmentation
    pass
else:
    from . import datasets, models  # noqa: F401  (registration)
    from .checkpoint import allow_runner_checkpoints

    allow_runner_checkpoints()

__all__ = ['SSAClassifier', 'SSAOutputs', 'TeacherOutputs', 'relation_matrix', 'ssa_losses']
