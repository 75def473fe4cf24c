"""A literal, step-by-step transcription of docs/method.md §2 (eval mode).

Deliberately naive (explicit concatenations, normalised copies, einsum): it is the
independent yardstick that the tests and ``bench/`` compare :class:`SSAClassifier` against.
"""
import torch
import torch.nn.functional as F


def stepwise_adapt(clf, feat):
    """docs/method.md §2 from the text.

    feat: B x C x H x W -> (Sp B x K x C, Pp B x K x C, logits B x K x H x W).
    """
    b, c, h, w = feat.shape
    k = clf.conv_seg.weight.shape[0]
    s = clf.conv_seg.weight[:, :, 0, 0]
    # 1. coarse mask; 2. spatial features (plain NCHW depthwise conv)
    m = F.conv2d(feat, clf.conv_seg.weight, clf.conv_seg.bias).reshape(b, k, h * w)
    pf = F.conv2d(feat, clf.get_feat_pos.weight, clf.get_feat_pos.bias, padding=1, groups=c)
    pf_flat, f_flat = pf.reshape(b, c, h * w), feat.reshape(b, c, h * w)
    # 3. SPPA
    a_pos = torch.softmax(m, dim=2)
    pos_center = torch.einsum('bkn,bcn->bkc', a_pos, pf_flat)
    p = clf.center_pos.weight[None].expand(b, k, c)
    pp = clf.center_pos_proj(torch.cat([p, pos_center], dim=-1))
    # 4. SEPA
    a_sem = torch.softmax(m, dim=1)
    sem_center = torch.einsum('bkn,bcn->bkc', a_sem, f_flat) / (a_sem.sum(-1, keepdim=True) + 1e-12)
    sp = clf.center_content_proj(torch.cat([sem_center, s[None].expand(b, k, c)], dim=-1))
    # 5. classification
    center = clf.center_proj(sp + pp)
    x = F.normalize((feat + pf).reshape(b, c, h * w), dim=1, eps=1e-12)
    logits = 15 * torch.einsum('bkc,bcn->bkn', F.normalize(center, dim=-1, eps=1e-12), x)
    return sp, pp, logits.reshape(b, k, h, w)
