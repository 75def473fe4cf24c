"""The pure-PyTorch classifier: each step of section 2 and the training path of section 3."""
import math

import pytest
import torch
import torch.nn.functional as F

from ssa_seg.classifier import (
    LOSS_WEIGHTS,
    SSAClassifier,
    boundary_mask,
    cosine_logits,
    dice_loss,
    ground_truth_centers,
    relation_matrix,
    response_distillation_loss,
    semantic_centers,
    semantic_distillation_loss,
    spatial_centers,
    spatial_distillation_loss,
    ssa_losses,
)
from ssa_seg.stepwise import stepwise_adapt

torch.manual_seed(0)


def onehot_logits(label, k, scale=1000.0):
    """A coarse mask that is (numerically) one-hot: softmax over classes is exact."""
    return F.one_hot(label, k).permute(0, 3, 1, 2).float() * scale


def test_semantic_centers_of_onehot_mask_are_class_means():
    feat = torch.randn(2, 6, 4, 5, dtype=torch.float64)
    label = torch.randint(0, 3, (2, 4, 5))
    label[0, 0, 0], label[0, 0, 1], label[0, 0, 2] = 0, 1, 2     # every class in image 0
    centers = semantic_centers(onehot_logits(label, 3).double(), feat)
    for b in range(2):
        for k in range(3):
            mask = label[b] == k
            if mask.any():
                expected = feat[b][:, mask].mean(dim=1)
                assert torch.allclose(centers[b, k], expected, atol=1e-10)


def test_semantic_centers_of_uniform_mask_are_image_means():
    feat = torch.randn(1, 4, 3, 3)
    centers = semantic_centers(torch.zeros(1, 5, 3, 3), feat)
    assert torch.allclose(centers, feat.mean(dim=(2, 3))[:, None].expand(1, 5, 4), atol=1e-6)


def test_spatial_centers_are_softmax_over_positions():
    pos_feat = torch.arange(2 * 3 * 4, dtype=torch.float64).reshape(1, 2, 3, 4)
    coarse = torch.zeros(1, 2, 3, 4, dtype=torch.float64)
    coarse[0, 0, 1, 2] = 1000.0                  # class 0 peaks at one position
    centers = spatial_centers(coarse, pos_feat)
    assert torch.allclose(centers[0, 0], pos_feat[0, :, 1, 2])
    assert torch.allclose(centers[0, 1], pos_feat[0].mean(dim=(1, 2)))  # flat -> uniform
    # Hand-computed two-position case: weights e/(1+e) and 1/(1+e).
    coarse2 = torch.tensor([[[[1.0, 0.0]]]], dtype=torch.float64)
    pf2 = torch.tensor([[[[2.0, 4.0]]]], dtype=torch.float64)
    e = math.e
    assert spatial_centers(coarse2, pf2).item() == pytest.approx((2 * e + 4) / (1 + e))


def test_cosine_logits_by_hand():
    feat = torch.tensor([[[[3.0]], [[4.0]]]])             # one pixel, vector (3, 4)
    centers = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [-3.0, -4.0]]])
    logits = cosine_logits(feat, centers, 15.0)[0, :, 0, 0]
    assert torch.allclose(logits, torch.tensor([15 * 0.6, 15 * 0.8, -15.0]))


def test_position_features_are_a_depthwise_conv():
    clf = SSAClassifier(4, 3).eval()
    with torch.no_grad():
        clf.get_feat_pos.weight.zero_()
        clf.get_feat_pos.weight[:, 0, 1, 1] = 2.0            # centre tap only
        clf.get_feat_pos.bias.fill_(0.5)
    feat = torch.randn(2, 4, 5, 5)
    assert torch.allclose(clf.spatial_features(feat), 2 * feat + 0.5, atol=1e-6)


def test_fuse_equals_mlp_on_concat_in_reference_order():
    clf = SSAClassifier(8, 3).eval()
    first, second = torch.randn(2, 3, 8), torch.randn(3, 8)
    expected = clf.center_content_proj(torch.cat([first, second.expand(2, -1, -1)], dim=-1))
    assert torch.allclose(clf._fuse(clf.center_content_proj, first, second), expected, atol=1e-6)


def test_adapt_matches_step_by_step_and_batches_independently():
    clf = SSAClassifier(16, 5).eval()
    feat = torch.randn(3, 16, 7, 9)
    with torch.no_grad():
        out = clf.adapt(feat)
        sp, pp, logits = stepwise_adapt(clf, feat)
        single = torch.cat([clf(feat[i:i + 1]) for i in range(3)])
    assert (out.logits - logits).abs().max() <= 1e-5
    assert (out.sem_protos - sp).abs().max() <= 1e-5
    assert (out.pos_protos - pp).abs().max() <= 1e-5
    assert (out.logits - single).abs().max() <= 1e-5        # B > 1: images do not interact
    assert out.coarse.shape == (3, 5, 7, 9) and out.centers.shape == (3, 5, 16)


def test_relation_matrix_rows_are_softmax_of_scaled_cosine():
    protos = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    r = relation_matrix(protos)
    cos = torch.tensor([[1, 0, 2 ** -0.5], [0, 1, 2 ** -0.5], [2 ** -0.5, 2 ** -0.5, 1]])
    assert torch.allclose(r, torch.softmax(15 * cos, dim=1), atol=1e-6)
    assert torch.allclose(r.sum(-1), torch.ones(3))


def test_ground_truth_centers_with_ignore_and_absent_classes():
    feat = torch.arange(2 * 2 * 4, dtype=torch.float32).reshape(2, 2, 1, 4)
    pos_feat = -feat
    label = torch.tensor([[[0, 0, 1, 255]], [[1, 255, 255, 255]]])
    fixed, basis = torch.randn(3, 2), torch.randn(3, 2)
    gt_sem, gt_pos = ground_truth_centers(feat, pos_feat, label, fixed, basis)
    # class 0: image 0 pixels 0,1 -> channel values (0,1) and (4,5)
    assert torch.allclose(gt_sem[0], torch.tensor([0.5, 4.5]))
    # class 1: image 0 pixel 2 (2, 6) and image 1 pixel 0 (8, 12) -> batch mean
    assert torch.allclose(gt_sem[1], torch.tensor([5.0, 9.0]))
    assert torch.equal(gt_sem[2], fixed[2])                  # absent from the batch -> S
    assert torch.allclose(gt_pos[0, 0], -torch.tensor([0.5, 4.5]))
    assert torch.equal(gt_pos[1, 0], basis[0])               # absent from image 1 -> P
    assert torch.allclose(gt_pos[1, 1], -torch.tensor([8.0, 12.0]))
    assert torch.equal(gt_pos[0, 2], basis[2]) and torch.equal(gt_pos[1, 2], basis[2])


def test_dice_loss_by_hand():
    label = torch.tensor([[[0, 1], [255, 1]]])
    logits = torch.full((1, 3, 2, 2), -1e4)
    logits[0, 0, 0, 0] = 1e4
    logits[0, 1, :, 1] = 1e4                                 # perfect on both present classes
    assert dice_loss(logits, label).item() == pytest.approx(0.0, abs=1e-6)
    zero = torch.zeros(1, 3, 2, 2)                           # p = 0.5 everywhere (valid pixels)
    # class 0: inter .5, |p| 1.5, |t| 1 -> 1 - 2/3.5 ; class 1: inter 1, |p| 1.5, |t| 2 -> 1 - 3/4.5
    expected = ((1 - 2 / 3.5) + (1 - 3 / 4.5)) / 2
    assert dice_loss(zero, label).item() == pytest.approx(expected, rel=1e-5)


def test_boundary_mask_marks_edges_dilated():
    label = torch.zeros(1, 1, 8, dtype=torch.long)
    label[..., 4:] = 1
    assert boundary_mask(label)[0, 0].tolist() == [False, False, True, True,
                                                   True, True, False, False]


def test_response_distillation_by_hand():
    # Teacher uniform over 2 classes: entropy ln 2, target = .5 * (.5, .5) + .5 * onehot.
    label = torch.tensor([[[0, 0, 0, 0, 0, 0, 0, 0]]])
    student = torch.zeros(1, 2, 1, 8)
    teacher = torch.zeros(1, 2, 1, 8)
    # soft CE vs uniform student = ln 2 per pixel, weighted by ln 2; one class, interior only.
    loss = response_distillation_loss(student, teacher, label)
    assert loss.item() == pytest.approx(math.log(2) ** 2, rel=1e-5)
    # Class balance: a class with 1 pixel weighs as much as one with 7.
    label2 = torch.tensor([[[0, 0, 0, 0, 0, 0, 0, 1]]])
    student2 = torch.zeros(1, 2, 1, 8)
    student2[0, 1, 0, 7] = 5.0                              # only pixel 7 changes
    target_7 = torch.tensor([0.25, 0.75])
    per_pixel_7 = -(target_7 * torch.log_softmax(torch.tensor([0.0, 5.0]), 0)).sum()
    expected = 0.5 * (math.log(2) ** 2) + 0.5 * per_pixel_7.item() * math.log(2)
    got = response_distillation_loss(student2, teacher, label2).item()
    assert got == pytest.approx(expected, rel=1e-5)
    all_ignore = torch.full((1, 1, 8), 255)
    assert response_distillation_loss(student, teacher, all_ignore).item() == 0.0


def test_semantic_and_spatial_distillation_by_hand():
    protos = torch.randn(1, 4, 8, generator=torch.Generator().manual_seed(0))
    assert semantic_distillation_loss(protos, protos[0]).item() == pytest.approx(0.0, abs=1e-6)
    # Orthogonal teacher (R = softmax(15 I)) vs identical student rows (R = 1/K everywhere).
    teacher = torch.eye(4)
    student = torch.ones(1, 4, 4)
    off = math.exp(0) / (math.exp(15) + 3)
    expected = 3 * (0.25 - off)
    assert semantic_distillation_loss(student, teacher).item() == pytest.approx(expected, rel=1e-5)
    # pos: equal inputs give the entropy of softmax(P_hat).
    pp = torch.zeros(1, 2, 4)
    assert spatial_distillation_loss(pp, pp).item() == pytest.approx(math.log(4), rel=1e-6)


def test_training_path_all_eight_terms_with_ignore_and_absent_classes():
    clf = SSAClassifier(16, 6).train()
    feat = torch.randn(2, 16, 8, 8, requires_grad=True)
    label = torch.randint(0, 3, (2, 32, 32))                 # classes 3..5 absent
    label[:, :4] = 255
    label[1, 10:20, 10:20] = 4                               # class 4 in image 1 only
    student, teacher = clf.forward_train(feat, label)
    losses = ssa_losses(student, teacher, label)
    assert set(losses) == set(LOSS_WEIGHTS) and len(losses) == 8
    for name, value in losses.items():
        assert value.ndim == 0 and torch.isfinite(value), name
        assert value.item() > 0, name
    assert teacher.sem_protos.shape == (6, 16) and teacher.pos_protos.shape == (2, 6, 16)
    sum(losses.values()).backward()
    for name, p in clf.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    # Weights of the recipe are applied.
    raw = ssa_losses(student, teacher, label, weights={'loss_dis': 1.0})
    assert raw['loss_dis'].item() * 10 == pytest.approx(losses['loss_dis'].item(), rel=1e-6)


def test_all_ignore_batch_gives_finite_losses():
    clf = SSAClassifier(8, 3).train()
    label = torch.full((1, 8, 8), 255)
    student, teacher = clf.forward_train(torch.randn(1, 8, 4, 4), label)
    for name, value in ssa_losses(student, teacher, label).items():
        assert torch.isfinite(value), name


def test_eval_mode_never_touches_the_teacher():
    clf = SSAClassifier(8, 3).eval()
    feat = torch.randn(1, 8, 4, 4)
    before = clf(feat)
    with torch.no_grad():
        for name, p in clf.named_parameters():
            if name.startswith('gt_'):
                p.fill_(float('nan'))
    assert torch.equal(clf(feat), before)


def test_teacher_spatial_prototypes_put_the_centre_before_the_basis():
    """P_hat = gt_center_pos_proj(concat[per-image class mean of Pf (P[k] if absent), P]).

    Computed by hand from the MLP's layers; the student's order (basis first) must not
    reproduce it, and neither must the teacher with its operands swapped.
    """
    torch.manual_seed(3)
    c, k = 6, 4
    clf = SSAClassifier(c, k).train()
    feat = torch.randn(2, c, 3, 4)
    pos_feat = clf.spatial_features(feat)
    label = torch.tensor([[[0, 0, 1, 1], [0, 2, 2, 255], [255, 0, 1, 1]],
                          [[2, 2, 2, 2], [2, 0, 255, 255], [2, 2, 2, 2]]])   # class 3 absent
    basis = clf.center_pos.weight
    rows = []
    for b in range(2):
        per_class = []
        for cls in range(k):
            mask = label[b] == cls
            per_class.append(pos_feat[b][:, mask].mean(dim=1) if mask.any() else basis[cls])
        rows.append(torch.stack(per_class))
    centre = torch.stack(rows)                                   # B x K x C
    mlp = clf.gt_center_pos_proj
    hidden = torch.cat([centre, basis.expand(2, -1, -1)], dim=-1) @ mlp[0].weight.t()
    expected = torch.relu(hidden) @ mlp[2].weight.t() + mlp[2].bias
    with torch.no_grad():
        got = clf.teacher(feat, pos_feat, label).pos_protos
    assert torch.allclose(got, expected.detach(), atol=1e-5)
    swapped = mlp(torch.cat([basis.expand(2, -1, -1), centre], dim=-1)).detach()
    assert not torch.allclose(got, swapped, atol=1e-3)


def test_main_loss_weight_scales_loss_entries_only_and_unknown_weights_fail():
    clf = SSAClassifier(8, 3).train()
    label = torch.randint(0, 3, (2, 16, 16))
    student, teacher = clf.forward_train(torch.randn(2, 8, 4, 4), label)

    def main_loss(up):
        ce = F.cross_entropy(up, label)
        return {'loss_ce': ce, 'loss_aux_like': 0.5 * ce, 'acc_seg': torch.tensor(42.0)}

    base = ssa_losses(student, teacher, label, main_loss=main_loss)
    doubled = ssa_losses(student, teacher, label, weights={'loss_ce': 2.0}, main_loss=main_loss)
    assert set(base) == set(doubled) == set(LOSS_WEIGHTS) | {'loss_aux_like', 'acc_seg'}
    for name in ('loss_ce', 'loss_aux_like'):
        assert doubled[name].item() == pytest.approx(2 * base[name].item(), rel=1e-6)
    assert doubled['acc_seg'].item() == base['acc_seg'].item() == 42.0
    for name in set(LOSS_WEIGHTS) - {'loss_ce'}:                 # the other terms: unchanged
        assert doubled[name].item() == pytest.approx(base[name].item(), rel=1e-6)
    # Without main_loss the plain CE is scaled the same way.
    plain = ssa_losses(student, teacher, label)
    plain2 = ssa_losses(student, teacher, label, weights={'loss_ce': 2.0})
    assert plain2['loss_ce'].item() == pytest.approx(2 * plain['loss_ce'].item(), rel=1e-6)
    with pytest.raises(KeyError, match='loss_typo'):
        ssa_losses(student, teacher, label, weights={'loss_typo': 1.0}, main_loss=main_loss)


def test_training_logits_are_the_cosines_by_hand_for_a_channels_last_feature():
    """Student and teacher logits in training (they share F + Pf and its norms) equal
    15 cos(F + Pf, centre) computed pixel by pixel; a channels-last head feature (as
    SegFormer's fusion conv hands over) gives the same logits and gradient."""
    torch.manual_seed(4)
    clf = SSAClassifier(8, 5, dropout_ratio=0.0).train()
    feat = torch.randn(2, 8, 3, 4)
    label = torch.randint(0, 5, (2, 3, 4))
    student, teacher = clf.forward_train(feat, label)
    pixels = (feat + clf.spatial_features(feat)).flatten(2)             # B x C x N
    for out in (student, teacher):
        by_hand = torch.stack([torch.stack([
            15 * F.cosine_similarity(pixels[b, :, n], out.centers[b, k], dim=0)
            for n in range(12)]) for b in range(2) for k in range(5)]).reshape(2, 5, 3, 4)
        assert torch.allclose(out.logits, by_hand, atol=1e-5)
    grads = []
    for layout in (torch.contiguous_format, torch.channels_last):
        x = feat.clone().contiguous(memory_format=layout).requires_grad_()
        s, t = clf.forward_train(x, label)
        assert torch.allclose(s.logits, student.logits, atol=1e-6)
        assert torch.allclose(t.logits, teacher.logits, atol=1e-6)
        (s.logits.square().sum() + t.logits.sum()).backward()
        grads.append(x.grad)
    assert torch.allclose(grads[0], grads[1], atol=1e-5)
