"""The model zoo: typed entries from a manifest, a one-call loader, and the released models.

    >>> from ssa_seg.zoo import load_zoo, init_zoo_model
    >>> zoo = load_zoo()                        # checkpoints/manifest.yaml of this checkout
    >>> pair = zoo.pair()                       # the default (first) pair
    >>> pair.ssa.metrics['val_mIoU']
    75.79
    >>> model = init_zoo_model(pair.ssa.name)   # doctest: +SKIP

From a shell (:func:`main`)::

    python -m ssa_seg.zoo list                  # the released models, and the manifest's
    python -m ssa_seg.zoo add NAME --config CFG --checkpoint FILE [--pair-with OTHER]

The modules: ``manifest`` (what a user has: :class:`Zoo`, :func:`load_zoo`, the manifest
format), ``released`` (what the authors released, ``released.yaml``), ``add`` (recording a
checkpoint in the manifest), ``cli`` (the commands; ``__main__`` runs them).
"""
from .cli import build_parser, main
from .manifest import (
    DEFAULT_MANIFEST,
    MANIFEST_ENV,
    REPO_ROOT,
    REQUIRED_MODEL_KEYS,
    ManifestError,
    PairError,
    Zoo,
    ZooModel,
    ZooPair,
    init_zoo_model,
    load_zoo,
    manifest_path,
    pair_from_paths,
)

__all__ = ['DEFAULT_MANIFEST', 'MANIFEST_ENV', 'REPO_ROOT', 'REQUIRED_MODEL_KEYS',
           'ManifestError', 'PairError', 'Zoo', 'ZooModel', 'ZooPair', 'build_parser',
           'init_zoo_model', 'load_zoo', 'main', 'manifest_path', 'pair_from_paths']
