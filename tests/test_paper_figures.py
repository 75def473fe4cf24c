"""The paper's figure set (issue 10): every number checked on constructed inputs or against
an independent computation, not against the code's own output."""
import json

import numpy as np
import pytest
import torch

# --------------------------------------------------------------------------- shift metrics

def test_shift_margins_and_ranks_known_answer():
    from analysis.shift import prototype_shift
    c = 4
    e = torch.eye(c)
    # Three classes on a 1 x 12 strip: class 0 (5 px) along e0 (with norm jitter: the
    # centroid averages directions), class 1 (5 px) along e1, class 2 (2 px, below
    # min_pixels) along e2.
    mask = torch.tensor([[0] * 5 + [1] * 5 + [2] * 2])
    feat = torch.zeros(c, 1, 12)
    for i, scale in enumerate([1, 2, 3, 4, 5]):
        feat[:, 0, i] = scale * e[0]
        feat[:, 0, 5 + i] = scale * e[1]
    feat[:, 0, 10:] = e[2][:, None]
    pos_feat = torch.zeros_like(feat)
    pos_feat[:, 0, 5:10] = e[3][:, None] * torch.tensor([1., 2, 3, 4, 5])   # F+Pf: e1+e3
    # S_0 = e0 + 0.5 e1: cos to own (e0) 2/sqrt5, to class 1 (e1) 1/sqrt5.
    # S_1 = e0 + e1 + e2 (wrong): cos to e0 = cos to e1 = 1/sqrt3; own not strictly beaten.
    fixed = torch.stack([e[0] + 0.5 * e[1], e[0] + e[1] + e[2], e[2]])
    adapted = torch.stack([e[1], e[1], e[2]])
    # Centres in F + Pf: class 0 centroid e0, class 1 centroid (e1 + e3)/sqrt2.
    # centre_0 = e1 + e3: cos own 0, cos other 1 -> margin -1, rank 2.
    # centre_1 = e1 + e3 + 0.1 e0: own cos = 2/sqrt(2.01 * 2), other 0.1/sqrt2.01.
    centers = torch.stack([e[1] + e[3], e[1] + e[3] + 0.1 * e[0], e[2]])
    rows = prototype_shift(feat, mask, fixed, adapted, centers, pos_feat,
                           class_names=['a', 'b', 'c'], min_pixels=5)
    assert [r.name for r in rows] == ['a', 'b']
    a, b = rows
    assert a.cos_fixed == pytest.approx(2 / np.sqrt(5))
    assert a.margin_fixed == pytest.approx(2 / np.sqrt(5) - 1 / np.sqrt(5))
    assert a.rank_fixed == 1
    assert b.cos_fixed == pytest.approx(1 / np.sqrt(3))
    assert b.margin_fixed == pytest.approx(0.0, abs=1e-12) and b.rank_fixed == 1
    assert a.cos_adapted == pytest.approx(0.0, abs=1e-12)
    assert a.cos_center == pytest.approx(0.0, abs=1e-12)
    assert a.margin_center == pytest.approx(-1.0) and a.rank_center == 2
    own = 2 / np.sqrt(2.01 * 2)
    assert b.cos_center == pytest.approx(own)
    assert b.margin_center == pytest.approx(own - 0.1 / np.sqrt(2.01))
    assert b.rank_center == 1
    # With the small class listed it competes too: S_0 has cos 0 to e2, so a's margin is
    # unchanged; S_2 = e2 has cos 1 to its own centroid and 0 to the others.
    rows3 = prototype_shift(feat, mask, fixed, adapted, centers, pos_feat,
                            class_names=['a', 'b', 'c'], min_pixels=1)
    assert [r.name for r in rows3] == ['a', 'b', 'c']
    assert rows3[0].margin_fixed == pytest.approx(a.margin_fixed)
    assert rows3[2].rank_fixed == 1 and rows3[2].margin_fixed == pytest.approx(1.0)
    assert rows3[1].margin_fixed == pytest.approx(0.0, abs=1e-12)   # e0, e1, e2 all tie
    # One listed class: no margin, rank 1.
    (only,) = prototype_shift(feat[:, :, :5], mask[:, :5], fixed, class_names='abc')
    assert only.margin_fixed is None and only.rank_fixed == 1


def test_shift_json_has_exactly_the_issue_fields(tmp_path):
    from analysis.figures import export_figure
    from analysis.shift import JSON_FIELDS, ShiftData, ShiftRow
    data = ShiftData(rows=[ShiftRow(0, 'a', 7, 0.5, 0.1, 0.4, 0.3, False, 0.2, 0.1, 1, 2)],
                     source='label')
    path = export_figure(data, tmp_path / 's.json')
    (row,) = json.loads(open(path).read())['classes']
    assert tuple(row) == JSON_FIELDS == (
        'name', 'num_pixels', 'cos_fixed', 'cos_adapted', 'cos_center', 'margin_fixed',
        'margin_center', 'rank_fixed', 'rank_center')
    assert row['rank_center'] == 2 and row['margin_fixed'] == 0.2
