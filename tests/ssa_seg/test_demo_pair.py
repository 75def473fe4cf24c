"""The demo configs train, and the shipped demo pair reproduces its recorded figures."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS

from ssa_seg.evaluation import evaluate
from ssa_seg.synthscenes import generate
from ssa_seg.zoo import REPO_ROOT, load_zoo

DEMO_CONFIGS = ['ssa_seg/configs/demo/baseline_synthscenes.py',
                'ssa_seg/configs/demo/ssa_synthscenes.py',
                'ssa_seg/configs/demo/ssa_nodistill_synthscenes.py']
MANIFEST = REPO_ROOT / 'checkpoints' / 'manifest.yaml'


@pytest.fixture(scope='module')
def tiny_set(tmp_path_factory):
    out = tmp_path_factory.mktemp('synth')
    generate(out, seed=0, num_train=8, num_val=4, size=256, progress=False)
    return out


@pytest.mark.slow
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
    n = max(m.extra['subset_images'] for m in load_zoo().models.values())
    out = tmp_path_factory.mktemp('val')
    # Images are seeded per (seed, split, index): the first n val images are those of the
    # full 200-image val set the models were evaluated on.
    generate(out, seed=0, num_train=0, num_val=n, size=256, progress=False)
    return out


@pytest.mark.skipif(not MANIFEST.exists(), reason='no demo pair trained yet')
def test_manifest_lists_the_demo_pair():
    pair = load_zoo().pair()
    for entry in (pair.baseline, pair.ssa, pair.ablation):
        assert {'val_mIoU', 'train_minutes'} <= set(entry.metrics)
        assert 'train_command' in entry.extra
        # the validation curve every 100 iterations (Fig. 4) ships beside the checkpoint,
        # and its last point is the recorded val mIoU
        curve = (REPO_ROOT / entry.extra['val_curve']).read_text().splitlines()
        assert len(curve) == 15 and f'"mIoU": {entry.metrics["val_mIoU"]}' in curve[-1]
        assert Path(entry.checkpoint).stat().st_size < 10 * 2 ** 20   # a few MB
        assert len(entry.classes) == len(entry.palette) == 10
    assert pair.ssa.config.endswith('ssa_synthscenes.py')
    assert pair.ablation.config.endswith('ssa_nodistill_synthscenes.py')
    assert pair.ssa.metrics['val_mIoU'] == 75.79 and pair.baseline.metrics['val_mIoU'] == 68.03
    assert pair.ablation.metrics['val_mIoU'] == 74.06


@pytest.mark.slow
@pytest.mark.skipif(not MANIFEST.exists(), reason='no demo pair trained yet')
@pytest.mark.parametrize('role', ['baseline', 'ssa', 'ablation'])
def test_shipped_checkpoint_reproduces_its_recorded_figure(role, val_subset):
    entry = getattr(load_zoo().pair(), role)
    model = entry.init()
    assert tuple(model.dataset_meta['classes']) == entry.classes
    result = evaluate(model, data_root=str(val_subset), max_images=entry.extra['subset_images'])
    expected = entry.metrics['subset_mIoU']
    assert abs(result['mIoU'] - expected) <= 0.5, (result['mIoU'], expected)
