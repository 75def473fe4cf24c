"""Translate mmsegmentation 0.x configs (the reference SSA-Seg's format) to mmsegmentation 1.x.

Every config this project opens goes through ``ssa_seg.apis.load_config``. When the config,
with its ``_base_`` chain already merged by mmengine, *looks like* 0.x (see
:func:`is_v0_config`), it is translated here at load time, so a reference config file opens
directly in ``init_model``, ``python -m ssa_seg.train`` and ``python -m ssa_seg.test``.
``python -m ssa_seg.convert_config REF.py OUT.py`` writes the translation to a file.

All functions are pure: they take plain dicts (a merged config) and return new ones (the only
file read is this project's runtime base, below).

What is translated, top level (0.x -> 1.x):

=======================  ===============================================================
``model``                kept; every ``SyncBN`` (anywhere, nested) becomes ``BN`` (one
                         CPU process has no process group) and ``sync_bn='torch'`` is set so
                         that a distributed run converts back; a ``SegDataPreProcessor`` is
                         added from the normalisation (``img_norm_cfg`` / ``Normalize``), the
                         training ``Pad`` values and ``crop_size``. ``pretrained`` and
                         ``init_cfg`` are kept; ``test_cfg`` (whole / slide) is kept.
``data``                 ``train_dataloader`` / ``val_dataloader`` / ``test_dataloader``;
                         datasets get ``data_prefix`` / ``ann_file`` / ``metainfo``,
                         pipelines are translated transform by transform; a
                         ``MultiScaleFlipAug`` with flip or several ratios also gives a
                         ``tta_pipeline`` and ``tta_model``.
``evaluation``           ``val_evaluator`` / ``test_evaluator`` (``IoUMetric``), the
                         validation interval, ``save_best``.
``optimizer``,           ``optim_wrapper`` (``OptimWrapper``, ``paramwise_cfg``,
``optimizer_config``     ``constructor``, ``clip_grad``).
``lr_config``            ``param_scheduler`` (``LinearLR`` / ``ConstantLR`` warm-up, then
                         ``PolyLR`` or ``MultiStepLR``).
``runner``               ``train_cfg`` (``IterBasedTrainLoop`` / ``EpochBasedTrainLoop``).
``checkpoint_config``    ``default_hooks.checkpoint``.
``log_config``           ``default_hooks.logger`` and visualiser back-ends.
``dist_params``,         ``env_cfg``.
``cudnn_benchmark``
``resume_from``          ``load_from`` + ``resume=True``.
``seed``                 ``randomness.seed``.
=======================  ===============================================================

Keys that carry nothing at 1.x are dropped; they are all in :data:`DROPPED` with the reason.
Helper variables of the reference configs (``norm_cfg``, ``crop_size``, ...) are in
:data:`HELPER_VARIABLES` and are kept (``SyncBN`` -> ``BN`` applied). Anything else, an
unknown top-level key, a pipeline transform or an argument this module does not know, raises
:class:`ConfigTranslationError` naming it: nothing is dropped silently.

The rest of the 1.x runtime (hooks, visualiser, loops, ``default_scope``) comes from this
project's ``ssa_seg/configs/_base_/default_runtime.py``, so translated configs run like the
project's own. Overrides (``--cfg-options``) on 0.x-only keys (``data.*``, ``runner.*``, ...)
are applied before the translation, all others after it (:func:`split_options`).

Modules: ``tables`` (what keys mean, what is dropped and why), ``recognise`` (0.x or not,
which overrides speak 0.x), ``translate`` (the whole config, one function per 0.x section in
an ordered table), ``pipeline`` (a registry of 0.x transforms with their arguments),
``dataset`` (datasets and dataloaders), ``model`` (the model and its pretrained weights),
``schedule`` (optimiser, learning rate, evaluation, checkpoints, logging); ``errors`` and
``walk`` hold the one key check and the one recursive walk they share.
"""
from .dataset import translate_dataset
from .errors import ConfigTranslationError
from .model import (
    missing_pretrained,
    pretrained_weights,
    replace_sync_bn,
    strip_pretrained,
    translate_model,
)
from .pipeline import translate_pipeline
from .recognise import is_v0_config, split_options
from .tables import DATASET_TYPES, DROPPED, HELPER_VARIABLES
from .translate import translate_config

__all__ = ['ConfigTranslationError', 'DATASET_TYPES', 'DROPPED', 'HELPER_VARIABLES',
           'is_v0_config', 'missing_pretrained', 'pretrained_weights', 'replace_sync_bn',
           'split_options', 'strip_pretrained', 'translate_config', 'translate_dataset',
           'translate_model', 'translate_pipeline']
