"""ViT-Adapter-L + UperNet / UperNet_ssa against the reference fixtures (the original
github czczup/ViT-Adapter backbone run inside the original SSA-Seg code).

The shared tests of :class:`reference_tester.ReferenceFamilyTester` run twice: for this
project's 1.x configs and for the reference's 0.x config files as they are
(``tests/configs_v0/vit-adapter/``): the reference-size models (366 M parameters) load the
fixtures' regenerated checkpoints strictly and give the reference logits, have the reference
keys, take seed 1 at 224 x 288, and every config trains one step with activation
checkpointing on. The rest is ViT-Adapter's own: both config forms give identical logits, a
batch gives each image's own logits, the deformable attention equals a sampling written out
point by point, and tiny ViT-Adapters cover the arguments, the input checks, activation
checkpointing and the pretrained-weight loading quickly.
"""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from reference_fixtures import fixture_meta, make_checkpoint, reference_input, reference_logits
from reference_tester import ReferenceFamilyTester

import ssa_seg  # noqa: F401  (registers ViTAdapter, the *_ssa heads, the layer-decay constructor)
from ssa_seg.apis import init_model, load_config
from ssa_seg.checkpoint import load_weights
from ssa_seg.models.backbones import ViTAdapter
from ssa_seg.models.backbones import vit_adapter_modules as modules
from ssa_seg.models.backbones.ms_deform_attn import MSDeformAttn, deform_sample
from ssa_seg.models.backbones.vit_adapter_optim import vit_adapter_layer_id
from ssa_seg.zoo import REPO_ROOT

PROJECT = REPO_ROOT / 'ssa_seg' / 'configs' / 'vit-adapter'
V0 = Path(__file__).resolve().parent.parent / 'configs_v0' / 'vit-adapter'
BASE = 'upernet_augreg_adapter_large_512_160k_ade20k'
SSA = BASE + '_ssa'
PRETRAINED = ('ckpts/L_16-i21k-300ep-lr_0.001-aug_medium1-wd_0.1-do_0.1-sd_0.1'
              '--imagenet2012-steps_20k-lr_0.01-res_384.pth')
# Every reference ViT-Adapter config (0.x) and its number of classes.
V0_CONFIGS = {BASE: 150, SSA: 150,
              'upernet_augreg_adapter_large_512_80k_4x4_coco10k': 171,
              'upernet_augreg_adapter_large_512_80k_4x4_coco10k_ssa': 171,
              'upernet_augreg_adapter_large_480_80k_pc': 59,
              'upernet_augreg_adapter_large_480_80k_pc_ssa': 59}
TINY = dict(img_size=64, pretrain_size=64, embed_dim=32, depth=4, num_heads=2,
            conv_inplane=8, n_points=2, deform_num_heads=2, deform_ratio=0.5,
            interaction_indexes=[[0, 0], [1, 1], [2, 2], [3, 3]])


# ------------------------------------------------------------------ deformable attention

def bilinear_zero_padded(value: torch.Tensor, x: float, y: float) -> torch.Tensor:
    """value (D x H x W) at pixel coordinates (x, y) (0 = the first pixel's centre), bilinear
    over the four neighbours, zeros outside: written out point by point."""
    _, height, width = value.shape
    x0, y0 = math.floor(x), math.floor(y)
    out = torch.zeros(value.shape[0], dtype=torch.float64)
    for xi, yi in ((x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1)):
        if 0 <= xi < width and 0 <= yi < height:
            out += (1 - abs(x - xi)) * (1 - abs(y - yi)) * value[:, yi, xi].double()
    return out


def deform_sample_by_hand(value, shapes, locations, weights) -> torch.Tensor:
    n, _, heads, dim = value.shape
    _, queries, _, levels, points, _ = locations.shape
    starts = [0] + [int(h * w) for h, w in shapes.tolist()]
    out = torch.zeros(n, queries, heads * dim, dtype=torch.float64)
    for b in range(n):
        for q in range(queries):
            for m in range(heads):
                for lv, (h, w) in enumerate(shapes.tolist()):
                    start = sum(starts[:lv + 1])
                    level = value[b, start:start + h * w, m].T.reshape(dim, h, w)
                    for p in range(points):
                        # fractions of the map -> pixel coordinates (align_corners=False)
                        fx, fy = locations[b, q, m, lv, p].tolist()
                        sample = bilinear_zero_padded(level, fx * w - 0.5, fy * h - 0.5)
                        out[b, q, m * dim:(m + 1) * dim] += weights[b, q, m, lv, p] * sample
    return out


def test_deform_sample_equals_the_sampling_written_out():
    """Three non-square levels, points inside, on the border and outside every map."""
    g = torch.Generator().manual_seed(3)
    shapes = torch.tensor([[4, 6], [2, 3], [3, 1]])
    starts = torch.tensor([0, 24, 30])
    value = torch.randn(2, 33, 2, 3, generator=g)
    locations = torch.rand(2, 5, 2, 3, 4, 2, generator=g) * 1.4 - 0.2
    locations[0, 0, 0, 0, 0] = torch.tensor([0.0, 1.0])          # exactly on the border
    weights = torch.rand(2, 5, 2, 3, 4, generator=g)
    weights = weights / weights.sum((-1, -2), keepdim=True)
    ours = deform_sample(value, shapes, starts, locations, weights)
    expected = deform_sample_by_hand(value, shapes, locations, weights)
    assert ours.shape == (2, 5, 6)
    error = (ours.double() - expected).abs().max()
    assert error <= 1e-6, error


def test_mmcv_has_no_cpu_kernel_so_cpu_inputs_take_the_pytorch_path():
    """deform_sample uses mmcv's compiled kernel only on CUDA: mmcv 2.1 registers none for the
    CPU (if a later mmcv does, this test says so, and the dispatch should use it)."""
    from mmcv.ops.multi_scale_deform_attn import MultiScaleDeformableAttnFunction

    g = torch.Generator().manual_seed(4)
    value, shapes, starts = torch.randn(1, 6, 2, 4, generator=g), torch.tensor([[2, 3]]), \
        torch.tensor([0])
    locations = torch.rand(1, 5, 2, 1, 2, 2, generator=g)
    weights = torch.rand(1, 5, 2, 1, 2, generator=g)
    with pytest.raises(RuntimeError, match='implementation for device cpu not found'):
        MultiScaleDeformableAttnFunction.apply(value, shapes, starts, locations, weights, 64)
    assert deform_sample(value, shapes, starts, locations, weights).shape == (1, 5, 8)


def test_msdeformattn_keys_and_initial_sampling_pattern():
    attn = MSDeformAttn(d_model=32, n_levels=3, n_heads=4, n_points=2, ratio=0.5)
    assert {k: tuple(v.shape) for k, v in attn.state_dict().items()} == {
        'sampling_offsets.weight': (48, 32), 'sampling_offsets.bias': (48,),
        'attention_weights.weight': (24, 32), 'attention_weights.bias': (24,),
        'value_proj.weight': (16, 32), 'value_proj.bias': (16,),
        'output_proj.weight': (32, 16), 'output_proj.bias': (32,)}
    # Head h starts on the ray at angle 2*pi*h/4 scaled onto the unit square, points at 1, 2.
    bias = attn.sampling_offsets.bias.view(4, 3, 2, 2)
    rays = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    for p in range(2):
        assert torch.allclose(bias[:, 1, p], rays * (p + 1), atol=1e-6)
    with pytest.raises(ValueError, match='divide by n_heads'):
        MSDeformAttn(d_model=30, n_heads=4)


def test_reference_points_and_deform_inputs_by_hand():
    points = modules.reference_points([(2, 4)], 'cpu')
    assert points.shape == (1, 8, 1, 2)
    assert torch.allclose(points[0, :, 0], torch.tensor(
        [[x / 8, y / 4] for y in (1, 3) for x in (1, 3, 5, 7)]))
    inject, extract = modules.deform_inputs(torch.zeros(1, 3, 64, 96))
    assert inject[0].shape == (1, 4 * 6, 1, 2)
    assert inject[1].tolist() == [[8, 12], [4, 6], [2, 3]] and inject[2].tolist() == [0, 96, 120]
    assert extract[0].shape == (1, 96 + 24 + 6, 1, 2)
    assert extract[1].tolist() == [[4, 6]] and extract[2].tolist() == [0]


# ------------------------------------------------------------------ tiny backbones

def test_tiny_adapter_shapes_and_input_checks():
    torch.manual_seed(0)
    model = ViTAdapter(**TINY).eval()
    with torch.no_grad():
        outs = model(torch.randn(2, 3, 64, 96))
    assert [tuple(o.shape) for o in outs] == [(2, 32, 16, 24), (2, 32, 8, 12), (2, 32, 4, 6),
                                              (2, 32, 2, 3)]
    with pytest.raises(ValueError, match='multiples of 32'):
        model(torch.randn(1, 3, 48, 64))
    with pytest.raises(ValueError, match='windowed attention'):
        ViTAdapter(**TINY, window_attn=[False, True, False, False])
    with pytest.raises(ValueError, match='patch_size must be 16'):
        ViTAdapter(**dict(TINY, patch_size=8))
    # The two extra extractors sit on the last interaction only.
    extra = {'.'.join(k.split('.')[:4]) for k in model.state_dict() if 'extra_extractors' in k}
    assert extra == {'interactions.3.extra_extractors.0', 'interactions.3.extra_extractors.1'}


def test_with_cp_checkpoints_and_gives_the_same_gradients(monkeypatch):
    """Activation checkpointing changes memory, not numbers: same loss and gradients, and every
    ViT block, injector and extractor runs under torch.utils.checkpoint in training."""
    calls = []
    real = modules.cp.checkpoint

    def counting(fn, *args, **kwargs):
        calls.append(kwargs.get('use_reentrant'))
        return real(fn, *args, **kwargs)

    monkeypatch.setattr(modules.cp, 'checkpoint', counting)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    grads = []
    for with_cp in (False, True):
        torch.manual_seed(0)
        model = ViTAdapter(**TINY, with_cp=with_cp).train()
        loss = sum((o ** 2).mean() for o in model(x))
        loss.backward()
        grads.append({k: p.grad.clone() for k, p in model.named_parameters()})
    assert len(calls) == 4 + 4 + 4 + 2 and set(calls) == {False}   # blocks, inj., extr., extra
    assert grads[0].keys() == grads[1].keys()
    for key in grads[0]:
        assert torch.allclose(grads[0][key], grads[1][key], rtol=1e-5, atol=1e-7), key
    with torch.no_grad():
        calls.clear()
        model(x)
    assert calls == []                                  # nothing to save without gradients


def test_pretrained_vit_weights_load_non_strictly_and_a_wrong_shape_is_named(tmp_path):
    torch.manual_seed(0)
    source = ViTAdapter(**TINY)
    vit = {k: v for k, v in source.state_dict().items()
           if k.startswith(('blocks.', 'patch_embed.')) or k == 'pos_embed'}
    extra = {'cls_token': torch.zeros(1, 1, 32), 'norm.weight': torch.ones(32),
             'head.weight': torch.zeros(10, 32)}
    path = tmp_path / 'vit.pth'
    torch.save({'model': {**vit, **extra}}, path)
    torch.manual_seed(1)
    model = ViTAdapter(**TINY, pretrained=str(path))
    model.init_weights()
    state = model.state_dict()
    for key, value in vit.items():
        assert torch.equal(state[key], value), key
    assert not torch.equal(state['spm.fc1.weight'], source.state_dict()['spm.fc1.weight'])
    torch.save({'model': {'pos_embed': torch.zeros(1, 17, 32)}}, path)
    with pytest.raises(ValueError, match=r'pos_embed: \(1, 17, 32\) vs \(1, 5, 32\)'):
        ViTAdapter(**dict(TINY, img_size=32), pretrained=str(path)).init_weights()


def test_layer_ids_of_the_decay_rule():
    assert vit_adapter_layer_id('backbone.pos_embed', 26) == 0
    assert vit_adapter_layer_id('backbone.patch_embed.proj.weight', 26) == 0
    assert vit_adapter_layer_id('backbone.blocks.0.attn.qkv.weight', 26) == 1
    assert vit_adapter_layer_id('backbone.blocks.23.gamma2', 26) == 24
    for name in ('backbone.level_embed', 'backbone.spm.fc1.weight',
                 'backbone.interactions.0.injector.gamma', 'decode_head.conv_seg.weight'):
        assert vit_adapter_layer_id(name, 26) == 25


# ------------------------------------------------------------------ configs (no model built)

@pytest.mark.parametrize('name', sorted(V0_CONFIGS))
def test_reference_configs_translate(name):
    cfg = load_config(V0 / f'{name}.py')
    backbone = cfg.model.backbone
    assert backbone.type == 'ViTAdapter' and backbone.with_cp is True
    assert cfg.model.pretrained == PRETRAINED
    assert cfg.model.decode_head.type == ('UPerHead_ssa' if name.endswith('_ssa') else 'UPerHead')
    assert cfg.model.decode_head.num_classes == V0_CONFIGS[name]
    assert cfg.model.test_cfg.mode == 'slide'
    assert cfg.optim_wrapper.constructor == 'LayerDecayOptimizerConstructor'


def test_project_configs_equal_the_reference_model():
    """The 1.x configs build the model the 0.x files describe (the backbone's norms and
    pretrained entry aside: SyncBN and the file name are stated there)."""
    for name in (BASE, SSA):
        ours = load_config(PROJECT / f'{name}.py').model.to_dict()
        ref = load_config(V0 / f'{name}.py').model.to_dict()
        assert ours['backbone'].pop('pretrained') == ref.pop('pretrained') == PRETRAINED
        assert ours['backbone'].pop('norm_cfg')['type'] == 'SyncBN'
        for key in ('window_attn', 'window_size'):
            ref['backbone'].pop(key)
        for part in ('decode_head', 'auxiliary_head'):
            assert ours[part].pop('norm_cfg')['type'] == 'SyncBN'
            assert ref[part].pop('norm_cfg')['type'] == 'BN'
        assert ours == ref


@pytest.mark.parametrize('config', [PROJECT / f'{SSA}.py', V0 / f'{SSA}.py'])
def test_train_names_the_missing_pretrained_file_before_it_runs(config, tmp_path, monkeypatch):
    from ssa_seg import train
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match='L_16-i21k-300ep'):
        train.main([str(config), '--work-dir', str(tmp_path / 'work')])
    assert not (tmp_path / 'work').exists()


# ------------------------------------------------------------------ reference-size models

class TestViTAdapterProject(ReferenceFamilyTester):
    """The project's 1.x configs: fixtures matched, reference keys, seed 1 at 224 x 288, and
    one training step with activation checkpointing on (as the configs set it)."""

    configs = PROJECT
    fixtures = [BASE, SSA]
    train_configs = [BASE, SSA]
    head_types = {BASE: 'UPerHead', SSA: 'UPerHead_ssa'}
    backbone_type = 'ViTAdapter'

    @pytest.fixture(autouse=True)
    def count_checkpoints(self, monkeypatch):
        """Counts the calls of torch.utils.checkpoint inside the adapter's modules."""
        self.checkpoint_calls = []
        real = modules.cp.checkpoint
        monkeypatch.setattr(modules.cp, 'checkpoint',
                            lambda *a, **k: self.checkpoint_calls.append(1) or real(*a, **k))

    def check_state_dict(self, name, model, reference_keys):
        """The backbone's keys come in the reference's order (the auxiliary head is built)."""
        assert [k for k in model.state_dict() if k.startswith('backbone.')] == \
            [k for k in reference_keys if k.startswith('backbone.')]
        assert any(k.startswith('auxiliary_head.') for k in model.state_dict())

    def num_classes(self, config):
        return V0_CONFIGS[config]

    def build_for_training(self, config):
        """The base's model with the pretrained ViT file left out (not shipped): with_cp stays
        as the config sets it (True)."""
        init_default_scope('mmseg')
        cfg = load_config(self.config_path(config),
                          {'model.data_preprocessor.size': self.train_size})
        cfg.model.pretrained = None
        cfg.model.backbone.pretrained = None
        assert cfg.model.backbone.with_cp is True
        torch.manual_seed(0)
        return cfg, revert_sync_batchnorm(MODELS.build(cfg.model)).train()

    def expected_losses(self, config, cfg):
        return super().expected_losses(config, cfg) | {'aux.loss_ce'}

    def after_training_step(self, config, cfg, model, total):
        """One step of the config's layer-decay optimizer: the decayed learning rates, every
        block, injector and extractor checkpointed, the head and backbone moved."""
        decay = cfg.optim_wrapper.paramwise_cfg.layer_decay_rate      # 0.95 ADE20K, 0.9 others
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
        groups = {g['group_name']: g for g in optim.optimizer.param_groups}
        assert groups['layer_1_decay']['lr'] == pytest.approx(2e-5 * decay ** 24)
        assert groups['layer_25_no_decay']['weight_decay'] == 0.0
        before = {k: v.detach().clone() for k, v in model.named_parameters() if k.startswith(
            ('decode_head.conv_seg', 'backbone.blocks.0.', 'backbone.spm.fc1'))}
        optim.update_params(total)
        assert len(self.checkpoint_calls) >= 24 + 4 + 6   # every block, injector and extractor
        params = dict(model.named_parameters())
        for key, value in before.items():
            assert not torch.equal(params[key], value), key


class TestViTAdapterReference(TestViTAdapterProject):
    """The reference's 0.x config files as they are: the same shared tests, and a training
    step for each of the six (ADE20K, COCO-Stuff-10k, Pascal Context)."""

    configs = V0
    train_configs = list(V0_CONFIGS)


_CHECKPOINTS: dict = {}


@pytest.fixture(scope='module')
def checkpoint_file(tmp_path_factory):
    """Path of the fixture's regenerated checkpoint at a seed (written once per module)."""
    folder = tmp_path_factory.mktemp('vit_adapter_ckpt')

    def get(name: str, seed: int) -> Path:
        if (name, seed) not in _CHECKPOINTS:
            _CHECKPOINTS.clear()                      # one 1.5 GB file at a time
            path = folder / f'{name}_{seed}.pth'
            for old in folder.iterdir():
                old.unlink()
            torch.save(make_checkpoint(name, seed), path)
            _CHECKPOINTS[(name, seed)] = path
        return _CHECKPOINTS[(name, seed)]
    return get


def loaded(config: Path, checkpoint: Path):
    model = init_model(str(config))
    meta = load_weights(model, checkpoint)
    # Only the SSA checkpoint's loss buffer is left out (the model has the teacher modules).
    assert meta.get('ignored_keys', []) == (
        ['decode_head.ssa_loss.criterion.empty_weight'] if config.stem.endswith('_ssa') else [])
    return model.eval()


@pytest.mark.slow
@pytest.mark.parametrize('name', [BASE, SSA])
def test_project_and_reference_config_give_identical_logits(name, checkpoint_file):
    """At the fixture's seed and size the 1.x and 0.x models are the same model: equal logits
    (each matches the fixture in the shared tests)."""
    meta = fixture_meta(name)
    seed, size = int(meta['seed']), tuple(meta['input_size'])
    path = checkpoint_file(name, seed)
    logits = {}
    for form, config in (('1.x', PROJECT / f'{name}.py'), ('0.x', V0 / f'{name}.py')):
        model = loaded(config, path)
        logits[form] = reference_logits(model, seed, size)
        del model
    assert logits['1.x'].shape == tuple(meta['logits_shape'])
    assert torch.equal(logits['1.x'], logits['0.x'])


@pytest.mark.slow
def test_other_seed_non_square_and_batch_consistency(checkpoint_file):
    """Seed 1 at 224 x 288 (the shared tests check the logits are finite and varied): more
    than five classes, the 0.x and 1.x configs give identical logits, and a batch of two
    inputs gives each its own logits."""
    seed, size = 1, (224, 288)
    path = checkpoint_file(SSA, seed)
    model = loaded(PROJECT / f'{SSA}.py', path)
    first = reference_logits(model, seed, size)
    assert first.shape == (1, 150, *size) and torch.isfinite(first).all()
    assert first.argmax(1).unique().numel() > 5
    other = reference_input(seed + 1, size)
    h, w = size
    metas = [dict(img_shape=size, ori_shape=size, pad_shape=size)] * 2
    with torch.no_grad():
        both = model.encode_decode(torch.cat([reference_input(seed, size), other]), metas)
        alone = model.encode_decode(other, metas[:1])
    scale = first.abs().max()
    assert (both[:1] - first).abs().max() <= 1e-5 * scale
    assert (both[1:] - alone).abs().max() <= 1e-5 * scale
    del model
    v0 = loaded(V0 / f'{SSA}.py', path)
    assert torch.equal(reference_logits(v0, seed, size), first)


@pytest.mark.slow
def test_evaluate_cli_on_the_reference_config(checkpoint_file, tmp_path):
    """``python -m ssa_seg.test`` with the 0.x SSA config as it is and a reference checkpoint:
    two 32 x 48 images of ADE20K's layout, resized to 512 x 768 by the reference's test
    pipeline and segmented in slide mode (two 512 crops each)."""
    import numpy as np
    from PIL import Image

    from ssa_seg import test as test_cli

    rng = np.random.default_rng(0)
    for folder in ('images', 'annotations'):
        (tmp_path / 'ade' / folder / 'validation').mkdir(parents=True)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)).save(
            tmp_path / 'ade' / 'images' / 'validation' / f'img{i}.jpg')
        Image.fromarray(rng.integers(0, 151, (32, 48), dtype=np.uint8)).save(
            tmp_path / 'ade' / 'annotations' / 'validation' / f'img{i}.png')
    results = test_cli.main([str(V0 / f'{SSA}.py'), str(checkpoint_file(SSA, 0)),
                             '--data-root', str(tmp_path / 'ade')])
    assert results['num_images'] == 2
    assert 0.0 <= results['mIoU'] <= 100.0
