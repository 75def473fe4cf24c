"""The demo configs train, and the shipped demo pair reproduces its recorded figures."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS

from ssa_seg.apis import init_model
from ssa_seg.synthscenes import generate
from ssa_seg.test import evaluate
from ssa_seg.zoo import REPO_ROOT, load_manifest

DEMO_CONFIGS = ['ssa_seg/configs/demo/baseline_synthscenes.py',
                'ssa_seg/configs/demo/ssa_synthscenes.py']
MANIFEST = REPO_ROOT / 'checkpoints' / 'manifest.yaml'


@pytest.fixture(scope='module')
def tiny_set(tmp_path_factory):
    out = tmp_path_factory.mktemp('synth')
    generate(out, seed=0, num_train=8, num_val=4, size=256, progress=False)
    return out


@pytest.mark.parametrize('config', DEMO_CONFIGS)
def test_demo_config_training_reduces_the_loss(config, tiny_set):
    init_default_scope('mmseg')
    cfg = Config.fromfile(REPO_ROOT / config)
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.data_root = str(tiny_set)
    dataset = DATASETS.build(dataset_cfg)
    torch.manual_seed(0)
    batch = pseudo_collate([dataset[i] for i in range(8)])
    model = MODELS.build(cfg.model).train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    losses = [model.train_step(batch, optim)['loss'].item() for _ in range(15)]
    assert min(losses[-3:]) < 0.8 * losses[0], losses


@pytest.fixture(scope='module')
def val_subset(tmp_path_factory):
    manifest = load_manifest()
    n = max(m['subset_images'] for m in manifest.models)
    out = tmp_path_factory.mktemp('val')
    # Images are seeded per (seed, split, index): the first n val images are those of the
    # full 200-image val set the models were evaluated on.
    generate(out, seed=0, num_train=0, num_val=n, size=256, progress=False)
    return out


@pytest.mark.skipif(not MANIFEST.exists(), reason='no demo pair trained yet')
def test_manifest_lists_the_demo_pair():
    manifest = load_manifest()
    pair = manifest.pair()
    baseline, ssa = manifest.model(pair['baseline']), manifest.model(pair['ssa'])
    for entry in (baseline, ssa):
        for key in ('name', 'config', 'checkpoint', 'classes', 'palette', 'val_mIoU',
                    'train_command', 'train_minutes'):
            assert key in entry, key
        assert Path(entry['checkpoint']).stat().st_size < 10 * 2 ** 20   # a few MB
        assert len(entry['classes']) == len(entry['palette']) == 10
    assert ssa['config'].endswith('ssa_synthscenes.py')


@pytest.mark.skipif(not MANIFEST.exists(), reason='no demo pair trained yet')
@pytest.mark.parametrize('role', ['baseline', 'ssa'])
def test_shipped_checkpoint_reproduces_its_recorded_figure(role, val_subset):
    manifest = load_manifest()
    entry = manifest.model(manifest.pair()[role])
    model = init_model(entry['config'], entry['checkpoint'])
    assert list(model.dataset_meta['classes']) == entry['classes']
    result = evaluate(model, data_root=str(val_subset), max_images=entry['subset_images'])
    assert abs(result['mIoU'] - entry['subset_mIoU']) <= 0.5, (result['mIoU'], entry['subset_mIoU'])
