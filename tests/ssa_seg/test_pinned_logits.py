"""A numeric regression shows in milliseconds: a few logits of the shipped SSA-Seg checkpoint.

The values were recorded from the shipped ``checkpoints/synthscenes_ssa.pth`` (the model
retrained with the corrected teacher, val mIoU 75.79) on a fixed
input (1 x 3 x 64 x 96, ``randn`` with seed 0, fed to ``encode_decode`` without the data
preprocessor). Independently, the head's logits must equal ``ssa_seg.stepwise`` (a literal
transcription of docs/method.md §2) on the same feature, so a change in the classifier and a
change in the checkpoint or the loader are told apart.
"""
import pytest
import torch
import torch.nn.functional as F

from ssa_seg.apis import final_head, ssa_classifier
from ssa_seg.stepwise import stepwise_adapt
from ssa_seg.zoo import load_zoo

SIZE = (64, 96)
PINNED = {   # (class, row, column) -> logit
    (0, 0, 0): -1.16660, (1, 10, 20): 2.05188, (2, 33, 47): -5.26171, (3, 63, 95): 0.89140,
    (5, 31, 0): 1.03632, (7, 5, 77): -4.64634, (8, 40, 60): -4.12193, (9, 20, 30): -6.24089,
}
ARGMAX_COUNTS = [32, 2139, 0, 438, 0, 3401, 134, 0, 0, 0]


@pytest.fixture(scope='module')
def model():
    try:
        pair = load_zoo().pair()
    except Exception as err:  # noqa: BLE001
        pytest.skip(f'no demo pair: {err}')
    return pair.ssa.init()


def _input():
    return torch.randn(1, 3, *SIZE, generator=torch.Generator().manual_seed(0))


def test_shipped_ssa_checkpoint_gives_the_pinned_logits(model):
    meta = [dict(img_shape=SIZE, ori_shape=SIZE, pad_shape=SIZE)]
    with torch.no_grad():
        logits = model.encode_decode(_input(), meta)[0]
    for (k, i, j), value in PINNED.items():
        assert float(logits[k, i, j]) == pytest.approx(value, abs=2e-4), (k, i, j)
    assert torch.bincount(logits.argmax(0).flatten(), minlength=10).tolist() == ARGMAX_COUNTS


def test_head_logits_equal_the_stepwise_transcription(model):
    head = final_head(model)
    with torch.no_grad():
        feat = head.forward_features(model.extract_feat(_input()))
        library = ssa_classifier(model)(feat)
        _, _, stepwise = stepwise_adapt(ssa_classifier(model), feat)
        full = head(model.extract_feat(_input()))
    assert torch.allclose(library, stepwise, atol=1e-4)
    assert torch.equal(full, library)
    up = F.interpolate(library, size=SIZE, mode='bilinear', align_corners=False)
    assert float(up[0, 0, 0, 0]) == pytest.approx(PINNED[(0, 0, 0)], abs=2e-4)
