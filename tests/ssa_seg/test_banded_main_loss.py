"""A head whose main loss is mmseg's plain cross-entropy computes it, and mmseg's acc_seg, in
the student's banded pass; the reference for every value is mmseg's own ``loss_by_feat`` on
the same student logits (upsampled, ``F.cross_entropy``, ``topk`` accuracy)."""
import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import ssa_seg  # noqa: F401  (registers the *_ssa heads)
from ssa_seg.classifier import BandedCrossEntropy, ssa_losses
from ssa_seg.models.ssa_head import banded_main_loss

IGNORE = 255
K = 7
TERM_RTOL = 1e-6
GRAD_RTOL = 1e-5


def head_with(loss_decode=None, align_corners=False, **extra):
    init_default_scope('mmseg')
    torch.manual_seed(0)
    cfg = dict(type='FCNHead_ssa', in_channels=8, channels=16, num_convs=1,
               concat_input=False, num_classes=K, align_corners=align_corners,
               loss_decode=loss_decode or dict(type='CrossEntropyLoss'), **extra)
    return MODELS.build(cfg)


def samples(size=(37, 45), seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for n in range(2):
        label = torch.randint(0, K, (1, *size), generator=g)
        label[:, :3] = IGNORE
        if n == 1:
            label[:, -1, ::3] = IGNORE
        sample = SegDataSample(gt_sem_seg=PixelData(data=label))
        sample.set_metainfo(dict(img_shape=size, ori_shape=size, pad_shape=size))
        out.append(sample)
    return out


@pytest.mark.parametrize('loss,expected', [
    (dict(type='CrossEntropyLoss'), BandedCrossEntropy('loss_ce', 1.0, False)),
    (dict(type='CrossEntropyLoss', loss_weight=0.4, avg_non_ignore=True, loss_name='loss_x'),
     BandedCrossEntropy('loss_x', 0.4, True)),
    ([dict(type='CrossEntropyLoss', loss_weight=2.0)], BandedCrossEntropy('loss_ce', 2.0, False)),
    (dict(type='CrossEntropyLoss', class_weight=[1.0] * K), None),
    (dict(type='CrossEntropyLoss', use_sigmoid=True), None),
    ([dict(type='CrossEntropyLoss'), dict(type='DiceLoss')], None),
    (dict(type='FocalLoss'), None),
])
def test_which_losses_take_the_banded_path(loss, expected):
    assert banded_main_loss(head_with(loss)) == expected


def test_a_pixel_sampler_or_another_ignore_index_keeps_loss_by_feat():
    sampled = head_with(sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=100))
    assert banded_main_loss(sampled) is None
    assert banded_main_loss(head_with(ignore_index=0)) is None


@pytest.mark.parametrize('loss_decode', [
    dict(type='CrossEntropyLoss'),
    dict(type='CrossEntropyLoss', loss_weight=0.4, avg_non_ignore=True),
])
@pytest.mark.parametrize('align_corners', [False, True])
def test_banded_main_loss_equals_loss_by_feat(loss_decode, align_corners):
    """Every entry (the eight terms, acc_seg) and the gradient of the total, against the same
    call with mmseg's loss_by_feat as the main loss."""
    head = head_with(loss_decode, align_corners).train()
    batch = samples()
    label = head._stack_batch_gt(batch)[:, 0].long()
    feat = torch.randn(2, 16, 9, 11, requires_grad=True)
    student, teacher = head.ssa_classifier.forward_train(feat, label)
    banded = banded_main_loss(head)
    assert banded is not None
    got = ssa_losses(student, teacher, label, align_corners=align_corners, main_loss=banded,
                     weights={'loss_ce': 1.5})
    want = ssa_losses(student, teacher, label, align_corners=align_corners,
                      main_loss=lambda logits: head.loss_by_feat(logits, batch),
                      main_loss_resizes=True, weights={'loss_ce': 1.5})
    assert set(got) == set(want)
    for name, value in want.items():
        assert got[name].shape == value.shape, name
        assert abs(got[name].item() - value.item()) <= TERM_RTOL * abs(value.item()), name
    g_got = torch.autograd.grad(sum(v for k, v in got.items() if 'loss' in k), feat,
                                retain_graph=True)[0]
    g_want = torch.autograd.grad(sum(v for k, v in want.items() if 'loss' in k), feat)[0]
    assert (g_got - g_want).abs().max() <= GRAD_RTOL * g_want.abs().max()


def test_the_head_uses_it_in_training():
    """model(mode='loss') of a plain-CE head gives what loss_by_feat would (same dropout)."""
    head = head_with().train()
    batch = samples(seed=1)
    inputs = [torch.randn(2, 8, 9, 11)]
    torch.manual_seed(5)
    got = head.loss(inputs, batch, {})
    label = head._stack_batch_gt(batch)[:, 0].long()
    torch.manual_seed(5)
    feat = head.forward_features(inputs)
    student, teacher = head.ssa_classifier.forward_train(feat, label)
    want = ssa_losses(student, teacher, label, main_loss=lambda x: head.loss_by_feat(x, batch),
                      main_loss_resizes=True)
    for name in ('loss_ce', 'acc_seg', 'loss_dice_pred'):
        assert abs(got[name].item() - want[name].item()) <= TERM_RTOL * abs(want[name].item())
