"""The mmsegmentation integration: *_ssa heads in every segmentor mode, checkpoints, apis."""
import os
import pickle

import numpy as np
import pytest
import torch
from batches import random_batch
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from tiny_models import NUM_CLASSES, tiny_config, tiny_model_cfg

import ssa_seg
from ssa_seg.apis import extract_head_features, inference_model, init_model, ssa_classifier
from ssa_seg.checkpoint import CheckpointError, save_weights
from ssa_seg.classifier import LOSS_WEIGHTS, SSAClassifier
from ssa_seg.stepwise import stepwise_adapt

HEADS = ['SegformerHead', 'UPerHead', 'FCNHead', 'LightHamHead', 'OCRHead']


def build(head, ssa=True, seed=0):
    init_default_scope('mmseg')
    torch.manual_seed(seed)
    return MODELS.build(ConfigDict(tiny_model_cfg(head, ssa)))


def make_batch(model, batch_size=2, size=64, seed=0):
    """Labels of classes 0-2 only (3 and 4 absent), the first 5 columns ignored."""
    return random_batch(model, (size, size), batch_size, num_classes=3, seed=seed,
                        ignore=(slice(None), slice(None), slice(0, 5)))


def final_head(model):
    head = model.decode_head
    return head[-1] if isinstance(head, torch.nn.ModuleList) else head


@pytest.mark.parametrize('head', HEADS)
def test_head_in_loss_predict_and_tensor_modes(head):
    model = build(head)
    assert type(final_head(model)).__name__ == head + '_ssa'
    model.train()
    data = make_batch(model)
    losses = model(**data, mode='loss')
    prefix = 'decode_1.' if head == 'OCRHead' else 'decode.'   # cascade: stage index
    names = {prefix + k for k in LOSS_WEIGHTS}
    assert names <= set(losses), set(losses)
    for name in names:
        assert torch.isfinite(losses[name]) and losses[name].item() > 0, name
    model.eval()
    with torch.no_grad():
        logits = model(data['inputs'], mode='tensor')
        preds = model(data['inputs'], data['data_samples'], mode='predict')
    assert logits.shape[:2] == (2, NUM_CLASSES)
    assert preds[0].pred_sem_seg.data.shape == (1, 64, 64)


def test_reference_parameter_names():
    keys = set(build('SegformerHead').state_dict())
    expected = {'conv_seg.weight', 'conv_seg.bias', 'get_feat_pos.weight', 'get_feat_pos.bias',
                'center_pos.weight', 'center_proj.weight', 'gt_center_proj.weight'}
    for mlp in ('center_content_proj', 'center_pos_proj', 'gt_center_content_proj',
                'gt_center_pos_proj'):
        expected |= {f'{mlp}.0.weight', f'{mlp}.2.weight', f'{mlp}.2.bias'}
    assert {'decode_head.' + k for k in expected} <= keys
    ssa_keys = {k for k in keys if k.startswith('decode_head.')}
    vanilla = {k for k in build('SegformerHead', ssa=False).state_dict()
               if k.startswith('decode_head.')}
    assert ssa_keys - vanilla == {'decode_head.' + k for k in expected} - {
        'decode_head.conv_seg.weight', 'decode_head.conv_seg.bias'}


@pytest.mark.parametrize('head', ['SegformerHead', 'UPerHead', 'OCRHead'])
def test_logits_equal_independent_stepwise_computation(head, tmp_path):
    """Feature from a *vanilla* model with the same body weights, section 2 step by step
    from the head's weights copied into a fresh classifier."""
    ssa_model = build(head, seed=1).eval()
    vanilla = build(head, ssa=False, seed=2).eval()
    state = ssa_model.state_dict()
    missing, _ = vanilla.load_state_dict(state, strict=False)
    assert not missing
    clf = SSAClassifier(32, NUM_CLASSES).eval()
    clf.load_state_dict({k[len('decode_head.'):].removeprefix('1.'): v for k, v in state.items()
                         if k.startswith('decode_head.') and not k.startswith('decode_head.0.')},
                        strict=False)
    vanilla.cfg = ssa_model.cfg = None
    data = make_batch(ssa_model, batch_size=2)
    with torch.no_grad():
        got = ssa_model(data['inputs'], mode='tensor')
        captured = {}
        head_v = final_head(vanilla)
        hook = head_v.conv_seg.register_forward_pre_hook(
            lambda m, a: captured.setdefault('f', a[0]))
        vanilla(data['inputs'], mode='tensor')
        hook.remove()
        expected = stepwise_adapt(clf, captured['f'])[2]
    assert got.shape == expected.shape
    assert (got - expected).abs().max().item() <= 1e-5


def test_eval_mode_runs_no_teacher():
    model = build('SegformerHead').eval()
    head = model.decode_head
    calls = []
    for name, module in head.named_modules():
        if name.startswith('gt_') and not list(module.children()):   # leaf modules
            module.register_forward_hook(lambda *a, n=name.split('.')[0]: calls.append(n))
    data = make_batch(model, batch_size=1)
    with torch.no_grad():
        model(data['inputs'], data['data_samples'], mode='predict')
        model(data['inputs'], mode='tensor')
    assert calls == []
    model.train()
    model(**make_batch(model, batch_size=1), mode='loss')
    assert sorted(set(calls)) == ['gt_center_content_proj', 'gt_center_pos_proj', 'gt_center_proj']


@pytest.mark.parametrize('head', ['SegformerHead', pytest.param('OCRHead', marks=pytest.mark.slow)])
def test_one_step_trains_every_parameter(head):
    model = build(head).train()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optim = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = model(**make_batch(model), mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k)
    optim.zero_grad()
    total.backward()
    optim.step()
    unchanged = [n for n, p in model.named_parameters() if torch.equal(p.detach(), before[n])]
    assert unchanged == []
    teacher = [n for n in before if '.gt_center' in n]
    assert len(teacher) == 7


@pytest.mark.slow
def test_training_reduces_the_loss():
    model = build('SegformerHead').train()
    optim = torch.optim.AdamW(model.parameters(), lr=3e-3)
    data = make_batch(model)
    totals = []
    for _ in range(25):
        losses = model(**data, mode='loss')
        total = sum(v for k, v in losses.items() if 'loss' in k)
        optim.zero_grad()
        total.backward()
        optim.step()
        totals.append(total.item())
    assert totals[-1] < 0.7 * totals[0], totals


# ------------------------------------------------------------------ checkpoints and apis

def test_reference_checkpoint_loads_and_matches_native(tmp_path, rng_image):
    cfg = tiny_config('SegformerHead')
    model = init_model(cfg)
    native = tmp_path / 'native.pth'
    grey = [[i, i, i] for i in range(5)]
    save_weights(model, native, meta=dict(dataset_meta=dict(classes=tuple('abcde'), palette=grey)))
    # mmseg 0.x / reference layout: DataParallel prefix, CLASSES/PALETTE in meta.
    reference = tmp_path / 'reference.pth'
    torch.save({'state_dict': {'module.' + k: v for k, v in model.state_dict().items()},
                'meta': {'CLASSES': ('a', 'b', 'c', 'd', 'e'), 'PALETTE': [[1, 2, 3]] * 5,
                         'mmseg_version': '0.30.0'}}, reference)
    a, b = init_model(cfg, native), init_model(cfg, reference)
    ra, rb = inference_model(a, rng_image), inference_model(b, rng_image)
    assert torch.equal(ra.seg_logits.data, rb.seg_logits.data)
    assert b.dataset_meta['classes'] == ('a', 'b', 'c', 'd', 'e')
    assert a.dataset_meta['palette'][3] == [3, 3, 3]


def test_checkpoint_that_does_not_fit_names_the_keys(tmp_path):
    vanilla = init_model(tiny_config('SegformerHead', ssa=False))
    path = tmp_path / 'vanilla.pth'
    save_weights(vanilla, path)
    with pytest.raises(CheckpointError) as err:
        init_model(tiny_config('SegformerHead'), path)
    msg = str(err.value)
    assert 'missing keys (17)' in msg and 'decode_head.center_pos.weight' in msg
    with pytest.raises(CheckpointError, match=r'unexpected keys .*decode_head.center_pos.weight'):
        ssa = init_model(tiny_config('SegformerHead'))
        save_weights(ssa, tmp_path / 'ssa.pth')
        init_model(tiny_config('SegformerHead', ssa=False), tmp_path / 'ssa.pth')
    with pytest.raises(CheckpointError, match='shape mismatches'):
        init_model(tiny_config('SegformerHead', num_classes=7), tmp_path / 'ssa.pth')


class Evil:
    def __reduce__(self):
        return (os.system, ('echo pwned',))


@pytest.mark.parametrize('content,match', [
    (b'', 'not a PyTorch checkpoint'),
    (b'hello, I am a text file\n', 'not a PyTorch checkpoint'),
    ('truncated', 'not a PyTorch checkpoint'),
    ('evil', 'refused'),
    ('list', 'not a checkpoint'),
])
def test_non_checkpoints_fail_clearly(tmp_path, content, match):
    path = tmp_path / 'bad.pth'
    if content == 'truncated':
        torch.save({'state_dict': {'w': torch.zeros(1000)}}, path)
        path.write_bytes(path.read_bytes()[:300])
    elif content == 'evil':
        path.write_bytes(pickle.dumps({'state_dict': Evil()}))
    elif content == 'list':
        torch.save([torch.zeros(2)], path)
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=match):
        init_model(tiny_config('SegformerHead'), path)
    with pytest.raises(CheckpointError, match='not found'):
        init_model(tiny_config('SegformerHead'), tmp_path / 'nope.pth')


def test_init_model_accepts_path_config_and_dict(tmp_path):
    from mmengine.config import Config
    cfg = Config(tiny_config('FCNHead'))
    path = tmp_path / 'cfg.py'
    cfg.dump(str(path))
    for c in (cfg, tiny_config('FCNHead'), str(path)):
        model = init_model(c)
        assert not model.training and ssa_classifier(model) is not None
    assert ssa_classifier(init_model(tiny_config('FCNHead', ssa=False))) is None
    with pytest.raises(FileNotFoundError):
        init_model(tmp_path / 'missing.py')


def test_inference_model_path_and_array_agree(tmp_path, rng_image):
    from PIL import Image
    model = init_model(tiny_config('SegformerHead'))
    path = tmp_path / 'img.png'
    Image.fromarray(rng_image).save(path)
    from_array = inference_model(model, rng_image)
    from_path = inference_model(model, str(path))
    assert from_array.pred_sem_seg.data.shape == (1, *rng_image.shape[:2])
    assert torch.equal(from_array.seg_logits.data, from_path.seg_logits.data)
    with pytest.raises(ValueError, match='uint8'):
        inference_model(model, rng_image.astype(np.float32))
    feat, _ = extract_head_features(model, rng_image)
    vanilla_feat, _ = extract_head_features(init_model(tiny_config('SegformerHead', ssa=False)),
                                            rng_image)
    assert feat.shape == vanilla_feat.shape and feat.shape[1] == 32


@pytest.mark.slow
def test_pure_classifier_imports_torch_only():
    """The classifier module loads with mmseg, mmengine and mmcv made unimportable."""
    import os
    import subprocess
    import sys
    # An empty package stands in for ssa_seg (its __init__ imports mmseg): the classifier and
    # the loss module beside it (upsampled_losses) load from their files alone.
    folder = os.path.dirname(ssa_seg.classifier.__file__)
    code = ('import sys, types, importlib\n'
            'for m in ("mmseg", "mmengine", "mmcv"): sys.modules[m] = None\n'
            'pkg = types.ModuleType("pure"); '
            f'pkg.__path__ = [{folder!r}]; sys.modules["pure"] = pkg\n'
            'mod = importlib.import_module("pure.classifier")\n'
            'import torch; print(mod.SSAClassifier(8, 3)(torch.randn(1, 8, 4, 4)).shape)\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert 'torch.Size([1, 3, 4, 4])' in out.stdout


class SneakyGetattr:
    def __reduce__(self):
        from mmengine.logging.history_buffer import HistoryBuffer
        return (getattr, (HistoryBuffer, '__init__'))


def test_runner_checkpoint_allow_list_keeps_getattr_restricted(tmp_path):
    path = tmp_path / 'sneaky.pth'
    torch.save({'state_dict': {}, 'meta': {'x': SneakyGetattr()}}, path)
    with pytest.raises(CheckpointError, match='refused'):
        init_model(tiny_config('SegformerHead'), path)
