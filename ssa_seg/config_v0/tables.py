"""The translator's tables: what 0.x keys mean, what is dropped (with why), what is kept."""
from __future__ import annotations

from typing import Dict

#: Everything the translator drops on purpose, with the reason. Dotted names are sub-keys.
DROPPED: Dict[str, str] = {
    'workflow': "mmengine's train loop validates by train_cfg.val_interval; no workflow list",
    'gpu_ids': 'the launcher chooses devices in mmengine',
    'device': 'mmengine picks the device',
    'optimizer_config.type': "'OptimizerHook' is the OptimWrapper's default behaviour",
    'evaluation.pre_eval': 'IoUMetric always accumulates per image (what pre_eval did)',
    'evaluation.efficient_test': 'IoUMetric always accumulates per image',
    'evaluation.gpu_collect': "the evaluator's collection is mmengine's concern",
    'evaluation.by_epoch': 'follows the train loop (runner) type',
    'checkpoint_config.meta': 'mmengine writes its own checkpoint meta',
    'checkpoint_config.create_symlink': 'mmengine keeps a last_checkpoint file instead',
    'lr_config.by_epoch': 'follows the train loop (runner) type',
    'log_config.hooks.TextLoggerHook': "mmengine's LoggerHook always writes text logs",
    'data.*.test_mode': "the 1.x dataloaders know their role; BaseSegDataset's default is used",
    'pipeline.DefaultFormatBundle': 'PackSegInputs formats the sample',
    'pipeline.ImageToTensor': 'PackSegInputs formats the sample',
    'pipeline.Normalize': "moved into model.data_preprocessor (SegDataPreProcessor)",
    'pipeline.Pad': "training padding moved into model.data_preprocessor (size, pad values)",
    'pipeline.MultiScaleFlipAug.RandomFlip': 'a no-op without flip (flip=True becomes a '
                                             'tta_pipeline)',
    'pipeline.Collect.meta_keys': 'PackSegInputs packs the 1.x meta keys',
    "file_client_args={'backend': 'disk'}": 'the 1.x default (local files); any other value '
                                            'raises',
}

#: Plain variables of the reference configs: Python already put their values where the config
#: used them. They are kept as they are (with SyncBN -> BN), as 1.x configs have them too.
HELPER_VARIABLES = frozenset({
    'norm_cfg', 'ham_norm_cfg', 'backbone_norm_cfg', 'checkpoint', 'checkpoint_file',
    'pretrained', 'model_cfgs', 'EfficientFormer_width', 'EfficientFormer_depth',
    'EfficientFormer_expansion_ratios', 'crop_size', 'img_scale', 'img_ratios',
    'dataset_type', 'data_root', 'find_unused_parameters', 'log_level', 'load_from',
    'custom_imports',
})

#: Variables whose content is read into the 1.x structure (and then not kept).
CONSUMED = frozenset({'img_norm_cfg', 'train_pipeline', 'test_pipeline'})

#: 0.x dataset type -> 1.x dataset type (same METAINFO: class names and palette).
#: COCOStuffDataset is the 171-class set in both versions (COCO-Stuff 164k and 10k; the
#: reference coco10k configs use num_classes=171).
DATASET_TYPES: Dict[str, str] = {
    'ADE20KDataset': 'ADE20KDataset',
    'COCOStuffDataset': 'COCOStuffDataset',
    'PascalContextDataset59': 'PascalContextDataset59',
    'PascalContextDataset': 'PascalContextDataset',
    'PascalVOCDataset': 'PascalVOCDataset',
    'CityscapesDataset': 'CityscapesDataset',
    'CustomDataset': 'BaseSegDataset',
}

#: Top-level keys found only in 0.x configs.
V0_MARKERS = frozenset({'data', 'img_norm_cfg', 'runner', 'lr_config', 'optimizer_config',
                        'evaluation', 'checkpoint_config', 'log_config', 'workflow',
                        'dist_params', 'resume_from', 'cudnn_benchmark', 'total_iters'})
#: Top-level keys found only in 1.x configs; one of them means the config is 1.x.
V1_MARKERS = frozenset({'train_dataloader', 'val_dataloader', 'test_dataloader',
                        'optim_wrapper', 'param_scheduler', 'default_hooks', 'val_evaluator',
                        'test_evaluator', 'default_scope', 'val_cfg', 'env_cfg'})

#: Override keys (``--cfg-options``) with these roots name 0.x parts: they are applied to the
#: 0.x config before translation. Every other override applies to the translated 1.x config.
V0_OPTION_ROOTS = V0_MARKERS | CONSUMED | {'optimizer'}

#: Type names whose mmseg 1.x module has other state-dict keys than the reference's module of
#: the same name; a 0.x config means the reference's. (mmseg 1.x's MSCAN stores
#: ``mlp.dwconv.*`` where reference checkpoints have ``mlp.dwconv.dwconv.*``.)
V0_TYPES = {'MSCAN': 'MSCANRef'}
