"""The training path's loss terms, computed without materialising upsampled logits
(ssa_seg.upsampled_losses), equal a straightforward computation of the recipe.

The straightforward computation here is written from docs/method.md §3 with plain PyTorch:
every logit map is upsampled with ``F.interpolate``, CE is ``F.cross_entropy``, dice is
built from one-hot masks, the response distillation loops over classes and over
boundary/interior pixels, boundaries are found pixel by pixel. Per term: relative difference
<= 1e-6; gradients of the weighted total: <= 1e-5 of their largest entry.
"""
import pytest
import torch
import torch.nn.functional as F

from ssa_seg.classifier import LOSS_WEIGHTS, SSAClassifier, ssa_losses
from ssa_seg.upsampled_losses import upsampled_terms, vertical_weights

IGNORE = 255
TERM_RTOL = 1e-6
GRAD_RTOL = 1e-5


def plain_dice(up, label, k):
    valid = label != IGNORE
    onehot = F.one_hot(torch.where(valid, label, 0), k).permute(0, 3, 1, 2).float()
    onehot = onehot * valid[:, None]
    prob = torch.sigmoid(up) * valid[:, None]
    inter, total, count = (prob * onehot).sum((2, 3)), prob.sum((2, 3)), onehot.sum((2, 3))
    dice = 1 - (2 * inter + 1) / (total + count + 1)
    present = count > 0
    return dice[present].mean() if present.any() else up.sum() * 0


def plain_boundary(label):
    """Pixel by pixel: a pixel is an edge if its 3x3 neighbourhood (inside the image) holds
    two values; the boundary is every pixel with an edge in its 3x3 neighbourhood."""
    b, h, w = label.shape
    edge = torch.zeros(b, h, w, dtype=torch.bool)
    for n in range(b):
        for y in range(h):
            for x in range(w):
                window = label[n, max(y - 1, 0):y + 2, max(x - 1, 0):x + 2]
                edge[n, y, x] = bool((window != window[0, 0]).any())
    near = torch.zeros_like(edge)
    for n in range(b):
        for y in range(h):
            for x in range(w):
                near[n, y, x] = bool(edge[n, max(y - 1, 0):y + 2, max(x - 1, 0):x + 2].any())
    return near


def plain_response_distillation(student, teacher, label, k):
    t_prob = torch.softmax(teacher.detach(), 1)
    entropy = -(t_prob * torch.log(t_prob.clamp_min(1e-12))).sum(1)
    valid = label != IGNORE
    onehot = F.one_hot(torch.where(valid, label, 0), k).permute(0, 3, 1, 2).float()
    target = 0.5 * t_prob + 0.5 * onehot * valid[:, None]
    per_pixel = -(target * F.log_softmax(student, 1)).sum(1) * entropy
    boundary = plain_boundary(label)
    per_class = []
    for cls in range(k):
        halves = [per_pixel[(label == cls) & (boundary == edge)] for edge in (True, False)]
        means = [h.mean() for h in halves if h.numel()]
        if means:
            per_class.append(torch.stack(means).mean())
    return torch.stack(per_class).mean()


def plain_relation(x):
    x = F.normalize(x, dim=-1)
    return torch.softmax(15 * x @ x.detach().transpose(-1, -2), -1)


def plain_terms(student, teacher, label, align_corners=False):
    """The eight terms, the recipe written out directly (unweighted)."""
    k = student.logits.shape[1]
    size = label.shape[-2:]

    def up(x):
        return F.interpolate(x, size=size, mode='bilinear', align_corners=align_corners)

    def ce(x):
        return F.cross_entropy(up(x), label, ignore_index=IGNORE)

    small = F.interpolate(label[:, None].float(), size=student.logits.shape[-2:],
                          mode='nearest')[:, 0].long()
    r_s, r_t = plain_relation(student.sem_protos), plain_relation(teacher.sem_protos.detach())
    off = 1 - torch.eye(k)
    return {
        'loss_ce': ce(student.logits),
        'loss_pre_self': ce(student.coarse),
        'loss_pre': ce(teacher.logits),
        'loss_dice_pred': plain_dice(up(student.logits), label, k),
        'loss_dice_gt': plain_dice(up(teacher.logits), label, k),
        'loss_kl': plain_response_distillation(student.logits, teacher.logits, small, k),
        'loss_dis': (torch.relu(r_s - r_t) * off).sum(-1).mean(),
        'loss_pos_dis': -(torch.softmax(teacher.pos_protos.detach(), -1)
                          * F.log_softmax(student.pos_protos, -1)).sum(-1).mean(),
    }


def batch(seed, channels, k, feat_size, label_size):
    torch.manual_seed(seed)
    clf = SSAClassifier(channels, k).train()
    feat = torch.randn(2, channels, *feat_size, requires_grad=True)
    label = torch.randint(0, k - 1, (2, *label_size))        # class k-1 absent
    label[:, :3] = IGNORE
    label[1, 5:9, 2:7] = 1
    return clf, feat, label


@pytest.mark.parametrize('feat_size,label_size,align_corners', [
    ((8, 8), (64, 64), False),       # x8, as SeaFormer's 1/8 logits
    ((6, 10), (23, 37), False),      # non-square, non-integer factors
    ((6, 10), (23, 37), True),
    ((12, 12), (12, 12), False),     # logits already at the label's size
    ((16, 12), (10, 9), False),      # logits larger than the label
])
def test_every_term_and_gradient_equal_the_plain_recipe(feat_size, label_size, align_corners):
    clf, feat, label = batch(0, 16, 7, feat_size, label_size)
    student, teacher = clf.forward_train(feat, label)
    ours = ssa_losses(student, teacher, label, align_corners=align_corners)
    plain = plain_terms(student, teacher, label, align_corners)
    assert set(ours) == set(plain) == set(LOSS_WEIGHTS)
    for name, value in plain.items():
        expected = value.item() * LOSS_WEIGHTS[name]
        assert abs(ours[name].item() - expected) <= TERM_RTOL * abs(expected), name
    params = [feat, *clf.parameters()]
    got = torch.autograd.grad(sum(ours.values()), params, allow_unused=True,
                              retain_graph=True)
    want = torch.autograd.grad(sum(v * LOSS_WEIGHTS[n] for n, v in plain.items()), params,
                               allow_unused=True)
    for g, w in zip(got, want):
        assert (g is None) == (w is None)
        if w is not None:
            assert (g - w).abs().max() <= GRAD_RTOL * w.abs().max().clamp_min(1e-12)


def test_without_distillation_the_three_student_terms_equal_the_plain_recipe():
    torch.manual_seed(1)
    clf = SSAClassifier(8, 5, distillation=False).train()
    feat = torch.randn(2, 8, 4, 4, requires_grad=True)
    label = torch.randint(0, 5, (2, 32, 32))
    label[0, :, :6] = IGNORE
    student, teacher = clf.forward_train(feat, label)
    assert teacher is None
    ours = ssa_losses(student, None, label)
    up = F.interpolate(student.logits, size=(32, 32), mode='bilinear')
    coarse = F.interpolate(student.coarse, size=(32, 32), mode='bilinear')
    plain = {'loss_ce': F.cross_entropy(up, label, ignore_index=IGNORE),
             'loss_pre_self': F.cross_entropy(coarse, label, ignore_index=IGNORE),
             'loss_dice_pred': plain_dice(up, label, 5)}
    assert set(ours) == set(plain)
    for name, value in plain.items():
        assert abs(ours[name].item() - value.item()) <= TERM_RTOL * abs(value.item()), name


def test_upsampled_terms_at_the_recipe_scale():
    """150 classes, x8 upsampling to 128 x 96, several bands per image, 4 ignored rows."""
    torch.manual_seed(2)
    logits = (torch.randn(2, 150, 16, 12) * 4).requires_grad_()
    label = torch.randint(0, 150, (2, 128, 96))
    label[:, :4] = IGNORE
    up = F.interpolate(logits, size=(128, 96), mode='bilinear')
    ce = F.cross_entropy(up, label, ignore_index=IGNORE, reduction='sum')
    dice = plain_dice(up, label, 150)
    got_ce, got_dice, correct = upsampled_terms(logits, label, with_accuracy=True)
    # The accuracy count beside them: valid pixels where the resized logits' argmax is the label.
    hits = (up.argmax(1) == label) & (label != IGNORE)
    assert correct.item() == hits.sum().item() and not correct.requires_grad
    assert abs(got_ce.item() - ce.item()) <= TERM_RTOL * ce.item()
    assert abs(got_dice.item() - dice.item()) <= TERM_RTOL * dice.item()
    want = torch.autograd.grad(0.3 * ce + 2.0 * dice, logits, retain_graph=True)[0]
    got = torch.autograd.grad(0.3 * got_ce + 2.0 * got_dice, logits)[0]
    assert (got - want).abs().max() <= GRAD_RTOL * want.abs().max()
    # Each term alone, and its gradient alone.
    only_ce, zero_dice, zero_correct = upsampled_terms(logits, label, with_dice=False)
    assert zero_dice.item() == 0 and zero_correct.item() == 0
    assert abs(only_ce.item() - ce.item()) <= TERM_RTOL * ce.item()
    grad_ce = torch.autograd.grad(only_ce, logits)[0]
    assert (grad_ce - torch.autograd.grad(ce, logits)[0]).abs().max() <= GRAD_RTOL * \
        grad_ce.abs().max()


@pytest.mark.parametrize('n_in,n_out,align_corners', [(4, 32, False), (5, 7, True),
                                                      (9, 4, False), (3, 1, True)])
def test_vertical_weights_reproduce_interpolate_on_a_column(n_in, n_out, align_corners):
    column = torch.randn(1, 1, n_in, 1)
    expected = F.interpolate(column, size=(n_out, 1), mode='bilinear',
                             align_corners=align_corners)[0, 0, :, 0]
    i0, i1, w0, w1 = vertical_weights(n_in, n_out, align_corners)
    got = w0 * column[0, 0, i0, 0] + w1 * column[0, 0, i1, 0]
    assert torch.allclose(got, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize('size,label_size,align_corners', [((6, 5), (31, 23), False),
                                                          ((8, 8), (64, 64), True),
                                                          ((4, 3), (4, 3), False)])
@pytest.mark.parametrize('with_ce,with_dice', [(True, True), (True, False), (False, True)])
def test_each_band_path_equals_interpolate(size, label_size, align_corners, with_ce, with_dice):
    """Bands with and without ignored pixels, every switch, a non-integer and a unit scale,
    and unequal weights on the two terms (the backward merges their passes)."""
    torch.manual_seed(3)
    logits = (torch.randn(2, 9, *size) * 3).requires_grad_()
    label = torch.randint(0, 9, (2, *label_size))
    label[0, :2] = IGNORE                  # whole bands ignored in image 0 only
    label[1, -1, ::2] = IGNORE             # a few pixels in image 1's last band
    up = F.interpolate(logits, size=label_size, mode='bilinear', align_corners=align_corners)
    want = (0.7 * F.cross_entropy(up, label, ignore_index=IGNORE, reduction='sum') * with_ce
            + 1.9 * plain_dice(up, label, 9) * with_dice)
    ce, dice, _ = upsampled_terms(logits, label, align_corners, with_ce, with_dice)
    got = 0.7 * ce + 1.9 * dice
    assert abs(got.item() - want.item()) <= TERM_RTOL * abs(want.item())
    g_want = torch.autograd.grad(want, logits)[0]
    g_got = torch.autograd.grad(got, logits)[0]
    assert (g_got - g_want).abs().max() <= GRAD_RTOL * g_want.abs().max()


def test_accuracy_alone_has_no_gradient_and_counts_ties_as_correct():
    logits = torch.zeros(1, 3, 2, 2, requires_grad=True)       # every class ties everywhere
    label = torch.tensor([[[0, 1], [2, IGNORE]]])
    ce, dice, correct = upsampled_terms(logits, label, with_ce=False, with_dice=False,
                                        with_accuracy=True)
    assert correct.item() == 3
    (ce + dice).backward()
    assert logits.grad.abs().max().item() == 0
