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


# --------------------------------------------------------------------------- helpers

def make_extraction(feat, label, fixed, sem=None, centers=None, pos_feat=None, teacher=None,
                    basis=None, names=None, image_name='img', pred=None):
    """An Extraction from constructed tensors (what extract() would return)."""
    from analysis.extract import Extraction
    k, c = fixed.shape
    logits = torch.zeros(k, *feat.shape[1:])
    return Extraction(
        model_name='m', class_names=names or [f'c{i}' for i in range(k)], palette=None,
        image=None, feat=feat, fixed_protos=fixed, logits=logits,
        pred=label.clone() if pred is None else pred, pred_image=label, pos_feat=pos_feat,
        sem_protos=sem, centers=centers, pos_basis=basis, label=label,
        teacher_sem_protos=teacher, image_name=image_name)


def softmax_relation(x, t=15.0):
    """R = row-softmax(t cos), in numpy (independent of ssa_seg.classifier)."""
    x = np.asarray(x, np.float64)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    z = t * x @ x.T
    z = np.exp(z - z.max(1, keepdims=True))
    return z / z.sum(1, keepdims=True)


# --------------------------------------------------------------------------- Fig. 3

def test_off_diagonal_mass_by_hand():
    from analysis.figures.distillation import off_diagonal_mass
    assert off_diagonal_mass(np.array([[0.9, 0.1], [0.3, 0.7]])) == pytest.approx(0.2)
    assert off_diagonal_mass(np.eye(4)) == 0.0


def test_distillation_numbers_match_a_numpy_computation():
    from analysis.figures.distillation import distillation_data
    from analysis.figureset import FigureSet
    rng = np.random.default_rng(0)
    k, c = 3, 4
    fixed = torch.tensor(rng.normal(size=(k, c)), dtype=torch.float32)
    basis = torch.tensor(rng.normal(size=(k, c)), dtype=torch.float32)
    label = torch.tensor([[0, 0, 1, 1], [0, 255, 1, 1]])          # class 2 absent
    ssa, abl = [], []
    for _ in range(2):
        feat = torch.tensor(rng.normal(size=(c, 2, 4)), dtype=torch.float32)
        pos = torch.tensor(rng.normal(size=(c, 2, 4)), dtype=torch.float32)
        sem = [torch.tensor(rng.normal(size=(k, c)), dtype=torch.float32) for _ in range(3)]
        ssa.append(make_extraction(feat, label, fixed, sem[0], pos_feat=pos, teacher=sem[1],
                                   basis=basis))
        abl.append(make_extraction(feat, label, fixed, sem[2], pos_feat=pos, basis=basis))
    data = distillation_data(FigureSet(extractions={'ssa': ssa, 'ablation': abl}))

    def mass(mats):
        r = np.mean(mats, axis=0)
        return float(np.mean(r.sum(1) - np.diag(r)))

    def class_means(e):     # label class means of F, S for the absent class
        f = e.feat.numpy().reshape(c, -1).T.astype(np.float64)
        lab = e.label.numpy().reshape(-1)
        return np.stack([f[lab == j].mean(0) if (lab == j).any() else fixed.numpy()[j]
                         for j in range(k)])

    expect = {
        'Sp with': mass([softmax_relation(e.sem_protos) for e in ssa]),
        'S_hat with': mass([softmax_relation(e.teacher_sem_protos) for e in ssa]),
        'Sp without': mass([softmax_relation(e.sem_protos) for e in abl]),
        'teacher without': mass([softmax_relation(class_means(e)) for e in abl]),
    }
    assert data.num_images == 2
    for name, value in expect.items():
        assert data.off_diagonal[name] == pytest.approx(value, rel=1e-5, abs=1e-9), name
    assert data.holds == (expect['Sp with'] < expect['Sp without']
                          and expect['Sp with'] <= 2 * expect['S_hat with'])


# --------------------------------------------------------------------------- Fig. 4

def test_curves_read_both_log_formats(tmp_path):
    from analysis.figures.curves import curves_data, read_log
    from analysis.figureset import FigureSet
    # mmengine scalars.json: train lines (time per iteration over the window) and val lines.
    base = tmp_path / 'base_scalars.json'
    base.write_text('\n'.join(json.dumps(r) for r in [
        {'loss': 1.0, 'time': 0.5, 'step': 50}, {'loss': 0.9, 'time': 0.7, 'step': 100},
        {'aAcc': 80.0, 'mIoU': 40.0, 'step': 100},
        {'loss': 0.8, 'time': 0.6, 'step': 150}, {'loss': 0.7, 'time': 0.6, 'step': 200},
        {'aAcc': 85.0, 'mIoU': 50.0, 'step': 200}]) + '\n')
    # mmseg 0.x log.json: an env line, then train/val lines; mIoU as a fraction.
    ssa = tmp_path / '20240101.log.json'
    ssa.write_text('\n'.join(json.dumps(r) for r in [
        {'env_info': 'x', 'seed': 0},
        {'mode': 'train', 'epoch': 1, 'iter': 100, 'lr': 0.1, 'time': 0.66, 'loss': 2.0},
        {'mode': 'val', 'epoch': 1, 'iter': 100, 'lr': 0.1, 'aAcc': 0.8, 'mIoU': 0.45},
        {'mode': 'train', 'epoch': 1, 'iter': 200, 'lr': 0.1, 'time': 0.66, 'loss': 1.5},
        {'mode': 'val', 'epoch': 1, 'iter': 200, 'lr': 0.1, 'aAcc': 0.9, 'mIoU': 0.55}]) + '\n')
    curve = read_log(ssa)
    assert curve.points == [(100, pytest.approx(45.0)), (200, pytest.approx(55.0))]
    assert curve.train_seconds == pytest.approx(0.66 * 200)
    assert read_log(base).train_seconds == pytest.approx(50 * (0.5 + 0.7 + 0.6 + 0.6))
    fs = FigureSet(logs={'baseline': [base], 'ssa': [ssa]})
    data = curves_data(fs)
    assert data.baseline_final == 50.0
    assert data.ssa_reaches_at == 200 and data.schedule == 200 and data.reach_fraction == 1.0
    assert data.time_ratio == pytest.approx(132 / 120)
    js = data.to_json_dict()
    assert js['final_mIoU'] == {'baseline': 50.0, 'ssa': pytest.approx(55.0)}


# --------------------------------------------------------------------------- Fig. 6

def test_offsets_aggregate_margins_by_hand():
    from analysis.figures.offsets import offsets_data
    from analysis.figureset import FigureSet
    c = 3
    e = torch.eye(c)
    # Two classes, 6 pixels each: class 0 along e0, class 1 along e1; F + Pf = F (Pf = 0).
    label = torch.tensor([[0] * 6 + [1] * 6])
    feat = torch.zeros(c, 1, 12)
    feat[:, 0, :6] = e[0][:, None]
    feat[:, 0, 6:] = e[1][:, None]
    pos = torch.zeros_like(feat)
    fixed = torch.stack([e[0], e[1]])
    good = torch.stack([e[0], e[1]])                    # margins 1, 1
    bad = torch.stack([e[1] + 0.5 * e[0], e[1]])        # class 0: own 0.447, other 0.894
    pred = label.clone()
    pred[0, :4] = 1                                      # ablation: 4 of 6 class-0 pixels -> 1
    ssa = [make_extraction(feat, label, fixed, fixed, good, pos, image_name=f'i{i}')
           for i in range(2)]
    abl = [make_extraction(feat, label, fixed, fixed, good if i == 0 else bad, pos,
                           image_name=f'i{i}', pred=pred) for i in range(2)]
    data = offsets_data(FigureSet(extractions={'ssa': ssa, 'ablation': abl}), tsne=False)
    worst = data.classes[0]
    assert worst.name == 'c0' and data.worst == 'c0' and data.worst_image == 'i1'
    own, other = 0.5 / np.sqrt(1.25), 1 / np.sqrt(1.25)
    assert worst.margin['ssa'] == pytest.approx(1.0)
    assert worst.margin['ablation'] == pytest.approx((1.0 + own - other) / 2)
    assert worst.off_rate == {'ssa': 0.0, 'ablation': 0.5}
    assert data.classes[1].lost == pytest.approx(0.0)
    assert data.goes_to == {'c1': pytest.approx(4 / 6), 'c0': pytest.approx(2 / 6)}


# --------------------------------------------------------------------------- Fig. 7

def test_intraclass_numbers_by_hand():
    from analysis.figures.intraclass import intraclass_numbers
    e = torch.eye(3)
    # Image 0: class pixels along e0 (with norm jitter), image 1: along e1.
    pixels = [torch.stack([e[0], 3 * e[0]]), torch.stack([2 * e[1], e[1], e[1]])]
    centers = torch.stack([e[0] + 0.1 * e[2], e[0] + 2 * e[1]])
    fixed = e[0] + e[1]
    n = intraclass_numbers(pixels, centers, fixed, pixels)
    assert n['within'] == pytest.approx(1.0) and n['between'] == pytest.approx(0.0)
    c0 = 1 / np.sqrt(1.01)
    assert n['center_own'] == pytest.approx((c0 + 2 / np.sqrt(5)) / 2)
    assert n['center_other'] == pytest.approx((0.0 + 1 / np.sqrt(5)) / 2)
    assert n['center_nearest_own'] == 1.0
    assert n['fixed'] == pytest.approx(1 / np.sqrt(2))
    assert n['num_images'] == 2 and n['num_pixels'] == 5
    assert n['pixels_nearest_own_image'] == 1.0
    # Image 1 gets two pixels along e0: they are nearer image 0's centroid.
    mixed = [pixels[0], torch.cat([pixels[1], torch.stack([e[0], e[0] + 0.1 * e[1]])])]
    assert intraclass_numbers(mixed, centers)['pixels_nearest_own_image'] == pytest.approx(5 / 7)


# --------------------------------------------------------------------------- Fig. 8

@pytest.fixture(scope='module')
def tiny_pair():
    from tiny_models import tiny_config

    from ssa_seg.apis import init_model
    torch.manual_seed(0)
    ssa = init_model(tiny_config('SegformerHead', ssa=True, num_classes=4))
    torch.manual_seed(1)
    base = init_model(tiny_config('SegformerHead', ssa=False, num_classes=4))
    return base, ssa


def hand_gradcam(model, inputs, k, mask):
    """Grad-CAM by its definition on the backbone's last output, then the package's
    normalisation (min-max, bilinear resize to the input, min-max)."""
    import cv2

    from analysis.figures.gradcam import BackboneTap
    wrapper = BackboneTap(model).eval()
    seen = {}
    hook = wrapper.tap.register_forward_hook(lambda _m, _i, out: seen.setdefault('a', out))
    out = wrapper(inputs)
    hook.remove()
    act = seen['a']
    score = (out[0, k] * torch.from_numpy(mask)).sum()
    grad = torch.autograd.grad(score, act)[0]
    cam = torch.relu((grad.mean(dim=(2, 3), keepdim=True) * act).sum(1))[0].detach().numpy()
    cam = cam - cam.min()
    cam = cam / (1e-7 + cam.max())
    cam = cv2.resize(cam, (inputs.shape[-1], inputs.shape[-2]))
    cam = cam - cam.min()
    return cam / (1e-7 + cam.max())


@pytest.mark.parametrize('role', [0, 1])
def test_gradcam_maps_match_the_definition(tiny_pair, role):
    from analysis.figures.gradcam import gradcam_maps, share_inside
    from ssa_seg.apis import prepare_inputs
    model = tiny_pair[role]
    image = np.random.default_rng(0).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    inputs, _ = prepare_inputs(model, image)
    mask = np.zeros(inputs.shape[-2:], np.float32)
    mask[:, :32] = 1
    maps, pred = gradcam_maps(model, inputs, {2: mask})
    expect = hand_gradcam(model, inputs, 2, mask)
    assert maps[2].shape == expect.shape == tuple(inputs.shape[-2:])
    np.testing.assert_allclose(maps[2], expect, atol=1e-4)
    assert share_inside(maps[2], mask) == pytest.approx(
        float((expect * mask).sum() / expect.sum()), abs=1e-4)
    with torch.no_grad():
        assert np.array_equal(pred, model.predict(inputs)[0].pred_sem_seg.data[0].numpy())


@pytest.mark.parametrize('role', [0, 1])
def test_gradcam_one_forward_gives_each_class_its_own_map(tiny_pair, role):
    """Three classes from one forward (a backward each) equal the definition per class and
    the package's one-call-per-class maps; the prediction is the model's."""
    from analysis.figures.gradcam import gradcam_maps
    from ssa_seg.apis import prepare_inputs
    model = tiny_pair[role]
    image = np.random.default_rng(2).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    inputs, _ = prepare_inputs(model, image)
    masks = {}
    for k, cols in ((0, slice(0, 20)), (1, slice(20, 44)), (3, slice(44, 64))):
        masks[k] = np.zeros(inputs.shape[-2:], np.float32)
        masks[k][:, cols] = 1
    shared, pred = gradcam_maps(model, inputs, masks)
    separate, pred_separate = gradcam_maps(model, inputs, masks, shared_forward=False)
    for k, mask in masks.items():
        np.testing.assert_allclose(shared[k], hand_gradcam(model, inputs, k, mask), atol=1e-4)
        np.testing.assert_allclose(shared[k], separate[k], atol=1e-5)
    assert not np.allclose(shared[0], shared[3], atol=1e-3)     # really a map per class
    assert np.array_equal(pred, pred_separate)
    with torch.no_grad():
        assert np.array_equal(pred, model.predict(inputs)[0].pred_sem_seg.data[0].numpy())


def test_gradcam_figure_on_files(tiny_pair, tmp_path):
    import cv2

    from analysis.figures import export_figure
    from analysis.figures.gradcam import GradcamData, gradcam_data, share_inside
    from analysis.figureset import FigureSet
    base, ssa = tiny_pair
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    label = np.zeros((64, 64), np.uint8)
    label[:, 20:] = 1
    label[40:, :] = 3
    cv2.imwrite(str(tmp_path / 'a.png'), image[..., ::-1])
    cv2.imwrite(str(tmp_path / 'a_label.png'), label)

    class Spec:
        def __init__(self, model, name):
            self.model, self.name, self.extra = model, name, {}

        def init(self, device):
            return self.model

    fs = FigureSet(specs={'baseline': Spec(base, 'b'), 'ssa': Spec(ssa, 's')},
                   images=[(tmp_path / 'a.png', tmp_path / 'a_label.png')])
    data = gradcam_data(fs, num_classes=2)
    assert isinstance(data, GradcamData)
    # Largest classes first: class 1 (40 x 44 px), class 3 (24 x 64), not class 0 (40 x 20).
    assert data.classes == ['class_1', 'class_3'] and data.label.shape == (64, 64)
    assert np.array_equal(data.label, label)          # the label at the input geometry
    for role in ('baseline', 'ssa'):
        for name, k in zip(data.classes, data.class_ids):
            cam = data.cams[role][name]
            assert data.inside[role][name] == pytest.approx(share_inside(cam, label == k))
            p = data.preds[role]
            iou = ((p == k) & (label == k)).sum() / ((p == k) | (label == k)).sum()
            assert data.ious[role][name] == pytest.approx(iou)
    assert export_figure(data, tmp_path / 'g.png')
    assert json.loads(open(export_figure(data, tmp_path / 'g.json')).read())['classes']


# --------------------------------------------------------------------------- CLI

def test_cli_set_level_figure_from_a_manifest(tmp_path, capsys):
    from analysis.cli import main
    logs = tmp_path / 'checkpoints' / 'logs'
    logs.mkdir(parents=True)
    for name, values in (('b', [30.0, 50.0]), ('s', [52.0, 60.0])):
        (logs / f'{name}.json').write_text('\n'.join(
            json.dumps({'mIoU': v, 'step': 100 * (i + 1)}) for i, v in enumerate(values)))
    entry = ('- {{name: {0}, config: c.py, checkpoint: checkpoints/{0}.pth, classes: [a], '
             'palette: [[0, 0, 0]], val_curve: checkpoints/logs/{0}.json}}')
    (tmp_path / 'checkpoints' / 'manifest.yaml').write_text(
        'models:\n' + entry.format('b') + '\n' + entry.format('s') + '\n'
        'pairs:\n- {name: p, baseline: b, ssa: s}\n')
    out = tmp_path / 'curves.json'
    assert main(['curves', '--manifest', str(tmp_path / 'checkpoints' / 'manifest.yaml'),
                 '--json', str(out), '--out', str(tmp_path / 'curves.png')]) == 0
    numbers = json.loads(out.read_text())
    assert numbers['ssa_reaches_baseline_final_at'] == 100
    assert numbers['reach_fraction'] == 0.5 and numbers['baseline_final_mIoU'] == 50.0
    assert (tmp_path / 'curves.png').stat().st_size > 1000
    # A figure that needs images says so (this pair is not the demo: no default images).
    with pytest.raises(SystemExit, match='labelled images'):
        main(['distillation', '--manifest', str(tmp_path / 'checkpoints' / 'manifest.yaml'),
              '--json', str(tmp_path / 'd.json')])


@pytest.mark.slow
def test_paper_command_on_the_demo_models(tmp_path):
    """Every figure, numbers.json and report.html from the shipped demo models."""
    from analysis.cli import main
    from ssa_seg.zoo import load_zoo
    pair = load_zoo().pair()
    if pair.ablation is None:
        pytest.skip('the manifest has no ablation model')
    assert main(['paper', '--out', str(tmp_path), '--num-images', '3']) == 0
    numbers = json.loads((tmp_path / 'numbers.json').read_text())
    report = (tmp_path / 'report.html').read_text()
    for stem in ('fig1_tsne', 'fig1_shift', 'fig3_relations', 'fig4_curves', 'fig6_offsets',
                 'fig7_intraclass', 'fig8_gradcam'):
        for fmt in ('pdf', 'png'):
            assert (tmp_path / f'{stem}.{fmt}').stat().st_size > 1000, stem
        assert f'src="{stem}.png"' in report
    # The curves end at the recorded val mIoU of each model (the same evaluation).
    finals = numbers['fig4_curves']['final_mIoU']
    for role in ('baseline', 'ssa', 'ablation'):
        entry = getattr(pair, role)
        assert finals[role] == pytest.approx(entry.metrics['val_mIoU'], abs=0.01)
    assert numbers['fig3_relations']['num_images'] == 3
    assert set(numbers['decision_space']['classes']) <= set(pair.ssa.classes)
    assert 'Paper (Fig. 4)' in report and 'holds' in report
