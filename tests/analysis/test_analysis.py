"""analysis/: extraction, shift numbers, t-SNE data, relation matrices, figure files."""
import io
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch
from tiny_models import tiny_config

K = 10
C = 32           # tiny SegformerHead channels


@pytest.fixture(scope='module')
def models():
    from ssa_seg.apis import init_model
    torch.manual_seed(0)
    ssa = init_model(tiny_config('SegformerHead', ssa=True, num_classes=K))
    torch.manual_seed(0)
    base = init_model(tiny_config('SegformerHead', ssa=False, num_classes=K))
    return ssa, base


@pytest.fixture(scope='module')
def image():
    return np.random.default_rng(0).integers(0, 256, size=(48, 80, 3), dtype=np.uint8)


@pytest.fixture(scope='module')
def label():
    lab = np.zeros((48, 80), np.uint8)
    lab[:, 10:40] = 3
    lab[:, 40:] = 7
    lab[:4] = 255
    return lab


@pytest.fixture(scope='module')
def extractions(models, image, label):
    from analysis.extract import extract
    ssa, base = models
    return (extract(ssa, image, label, model_name='ssa'), extract(base, image, label,
                                                                   model_name='base'))


# --------------------------------------------------------------------------- extraction

def test_extract_ssa_shapes_and_dtypes(extractions, models, image):
    from ssa_seg.apis import inference_model
    e, _ = extractions
    h, w = e.feature_size
    assert e.is_ssa and e.num_classes == K and len(e.class_names) == K
    expect = {
        'feat': (C, h, w), 'pos_feat': (C, h, w), 'coarse': (K, h, w), 'logits': (K, h, w),
        'fixed_protos': (K, C), 'sem_protos': (K, C), 'pos_protos': (K, C),
        'pos_basis': (K, C), 'centers': (K, C), 'teacher_sem_protos': (K, C),
        'teacher_pos_protos': (K, C),
    }
    for name, shape in expect.items():
        t = getattr(e, name)
        assert isinstance(t, torch.Tensor) and t.device.type == 'cpu', name
        assert tuple(t.shape) == shape, name
        assert t.dtype == torch.float32, name
        assert not t.requires_grad, name
    assert e.pred.shape == (h, w) and e.pred.dtype == torch.int64
    assert e.label.shape == (h, w) and e.label.dtype == torch.int64
    assert e.pred_image.shape == image.shape[:2] and e.pred_image.dtype == torch.int64
    assert e.image.shape == image.shape and e.image.dtype == np.uint8
    # Same predictions as the model's own inference path, at both resolutions.
    ref = inference_model(models[0], image)
    assert torch.equal(ref.pred_sem_seg.data[0], e.pred_image)
    assert torch.equal(e.pred, e.logits.argmax(0))
    # The prototypes are the classifier's own.
    from ssa_seg.apis import ssa_classifier
    clf = ssa_classifier(models[0])
    assert torch.equal(e.fixed_protos, clf.fixed_prototypes.detach())
    assert torch.equal(e.pos_basis, clf.position_basis.detach())
    out = clf.adapt(e.feat[None])
    assert torch.allclose(out.logits[0], e.logits, atol=1e-6)
    assert torch.allclose(out.sem_protos[0], e.sem_protos, atol=1e-6)


def test_extract_vanilla_shapes(extractions, models, image):
    from ssa_seg.apis import inference_model
    _, b = extractions
    h, w = b.feature_size
    assert not b.is_ssa
    assert b.feat.shape == (C, h, w) and b.feat.dtype == torch.float32
    assert b.fixed_protos.shape == (K, C) and b.logits.shape == (K, h, w)
    assert b.pred.shape == (h, w) and b.pred_image.shape == image.shape[:2]
    for name in ('pos_feat', 'coarse', 'sem_protos', 'pos_protos', 'pos_basis', 'centers',
                 'teacher_sem_protos', 'teacher_pos_protos'):
        assert getattr(b, name) is None, name
    assert b.label is not None      # the label still defines class membership
    w_seg = models[1].decode_head.conv_seg.weight[:, :, 0, 0]
    assert torch.equal(b.fixed_protos, w_seg.detach())
    assert torch.equal(inference_model(models[1], image).pred_sem_seg.data[0], b.pred_image)


def test_extract_without_label(models, image):
    from analysis.extract import extract
    e = extract(models[0], image)
    assert e.label is None and e.teacher_sem_protos is None and e.teacher_pos_protos is None
    mask, source = e.mask()
    assert source == 'prediction' and torch.equal(mask, e.pred)


def test_label_follows_pipeline_geometry():
    """Resize to img_shape, pad bottom/right with 255, then nearest to the feature grid."""
    from analysis.extract import label_to_feature_grid
    lab = np.full((20, 40), 2, np.uint8)
    lab[:, 20:] = 5
    lab[0, 0] = 200                          # out of range -> ignore
    meta = {'img_shape': (32, 64), 'pad_shape': (64, 64)}
    grid = label_to_feature_grid(lab, (16, 16), 10, meta)
    assert grid.shape == (16, 16) and grid.dtype == torch.int64
    assert (grid[8:] == 255).all()           # padding rows
    assert (grid[1:8, :8] == 2).all() and (grid[:8, 8:] == 5).all()
    from analysis.io import load_label
    raw = np.array([[0, 1], [3, 255]], np.uint8)
    red = label_to_feature_grid(load_label(raw, (2, 2), 10, reduce_zero_label=True), (2, 2), 10)
    assert red.tolist() == [[255, 0], [2, 255]]


def test_extract_rejects_bad_inputs(models, image, tmp_path):
    from analysis.extract import extract
    with pytest.raises(ValueError, match="must have the image's size"):
        extract(models[0], image, np.zeros((10, 10), np.uint8))
    with pytest.raises(FileNotFoundError):
        extract(models[0], str(tmp_path / 'missing.png'))
    bad = tmp_path / 'notes.png'
    bad.write_text('not an image')
    with pytest.raises(ValueError, match='not a readable image'):
        extract(models[0], str(bad))


def test_load_label_formats(tmp_path):
    from PIL import Image

    from analysis.io import load_label
    lab = np.array([[0, 1], [2, 255]], np.uint8)
    indexed = Image.fromarray(lab, mode='L').convert('P')
    indexed.save(tmp_path / 'p.png')
    assert load_label(tmp_path / 'p.png', (2, 2), 3).tolist() == lab.tolist()
    Image.fromarray(lab).save(tmp_path / 'l.png')
    assert load_label(str(tmp_path / 'l.png'), (2, 2), 3).tolist() == lab.tolist()
    colour = np.zeros((2, 2, 3), np.uint8)
    colour[0, 0] = (255, 0, 0)
    Image.fromarray(colour).save(tmp_path / 'c.png')
    with pytest.raises(ValueError, match='colour'):
        load_label(tmp_path / 'c.png', (2, 2), 3)


def test_class_index_errors():
    from analysis.extract import class_index
    names = ['wall', 'floor', 'window']
    assert class_index(names, 'Floor') == 1 and class_index(names, 2) == 2
    with pytest.raises(KeyError, match="did you mean 'window'"):
        class_index(names, 'windw')
    with pytest.raises(KeyError):
        class_index(names, 7)


# --------------------------------------------------------------------------- shift numbers

def test_shift_known_answer():
    from analysis.shift import prototype_shift
    c, h, w = 4, 2, 3
    e = torch.eye(c)
    # Class 0 on the left column pair, class 1 right column, one ignored pixel.
    mask = torch.tensor([[0, 0, 1], [0, 255, 1]])
    feat = torch.zeros(c, h, w)
    feat[:, 0, 0] = 2 * e[0]
    feat[:, 0, 1] = e[0] + e[1]
    feat[:, 1, 0] = e[0] - e[1]              # class-0 centroid = (4/3, 0, 0, 0) -> direction e0
    feat[:, :, 2] = e[2][:, None]            # class-1 centroid = e2
    feat[:, 1, 1] = 100 * e[3]               # ignored: must not count anywhere
    pos_feat = torch.zeros(c, h, w)
    pos_feat[:, :, 2] = e[3][:, None]        # class 1: F + Pf centroid = e2 + e3
    fixed = torch.stack([e[0], e[1], e[3]])          # K = 3; class 2 absent
    adapted = torch.stack([e[0] + e[1], e[2], e[0]])
    centers = torch.stack([e[0], e[2] + e[3], e[1]])
    rows = prototype_shift(feat, mask, fixed, adapted, centers, pos_feat,
                           class_names=['a', 'b', 'c'])
    assert [r.name for r in rows] == ['a', 'b']
    a, b = rows
    assert a.num_pixels == 3 and b.num_pixels == 2
    assert a.cos_fixed == pytest.approx(1.0)
    assert a.cos_adapted == pytest.approx(1 / np.sqrt(2))
    assert a.shift == pytest.approx(1 - 1 / np.sqrt(2))
    assert a.adapted_nearer is False
    assert a.cos_center == pytest.approx(1.0)
    assert b.cos_fixed == pytest.approx(0.0, abs=1e-12)
    assert b.cos_adapted == pytest.approx(1.0)
    assert b.adapted_nearer is True and b.shift == pytest.approx(1.0)
    assert b.cos_center == pytest.approx(1.0)

    vanilla = prototype_shift(feat, mask, fixed)
    assert [r.cos_fixed for r in vanilla] == pytest.approx([1.0, 0.0], abs=1e-12)
    assert all(r.cos_adapted is None and r.cos_center is None and r.shift is None
               and r.adapted_nearer is None for r in vanilla)


def test_shift_table_from_extraction(extractions):
    from analysis.figures.shift import shift_table
    e, b = extractions
    fig, data = shift_table(e)
    assert data.source == 'label'
    assert [r.class_index for r in data.rows] == [0, 3, 7]
    assert sum(r.num_pixels for r in data.rows) == int((e.label != 255).sum())
    js = data.to_json_dict()
    assert set(js['classes'][0]) >= {'name', 'cos_fixed', 'cos_adapted', 'cos_center',
                                     'num_pixels'}
    assert all(-1 <= r.cos_adapted <= 1 and -1 <= r.cos_center <= 1 for r in data.rows)
    _, vdata = shift_table(b)
    assert all(r.cos_adapted is None for r in vdata.rows)
    assert len(fig.data) >= 3


# --------------------------------------------------------------------------- t-SNE

def test_stratified_sample():
    from analysis.tsne import stratified_sample
    classes = np.array([0] * 1000 + [1] * 30 + [2] * 500 + [255] * 200)
    idx = stratified_sample(classes, 300, seed=3)
    assert len(idx) == 300 and len(np.unique(idx)) == 300
    picked = classes[idx]
    assert 255 not in picked
    counts = np.bincount(picked, minlength=3)
    assert counts[1] == 30                         # the small class is kept whole
    assert counts[0] == counts[2] == 135           # the rest is shared equally
    assert np.array_equal(idx, stratified_sample(classes, 300, seed=3))
    assert not np.array_equal(idx, stratified_sample(classes, 300, seed=4))
    assert len(stratified_sample(classes, 5000)) == 1530


def test_tsne_data_panels_and_determinism(extractions):
    from analysis.figures.tsne import tsne_figures
    e, b = extractions
    fig, data = tsne_figures(e, b, class_name='class_3', max_points=100, seed=1,
                             domains=('semantic', 'spatial'))
    assert [p.title for p in data.panels] == ['Baseline: F vs S (inner prod.)',
                                              'SSA-Seg: Sp beside F (literal)',
                                              'SSA-Seg: Pp beside Pf']
    # The default view is the decision space: baseline F vs S, SSA-Seg F + Pf vs centre.
    _, default = tsne_figures(e, b, class_name='class_3', max_points=60, seed=1)
    assert [p.domain for p in default.panels] == ['classifier', 'classifier']
    assert default.panels[1].title == 'SSA-Seg: F+Pf vs centre'
    assert data.highlight == 3 and data.highlight_name == 'class_3'
    for panel in data.panels:
        assert panel.points.dtype == np.float32 and panel.points.shape[1] == 2
        assert len(panel.points) == len(panel.point_classes) == 100
        assert 3 in panel.proto_classes
        assert np.isfinite(panel.points).all()
        for pts in panel.protos.values():
            assert pts.shape == (len(panel.proto_classes), 2)
    assert set(data.panels[1].protos) == {'fixed', 'adapted'}
    assert set(data.panels[0].protos) == {'fixed'}
    _, again = tsne_figures(e, b, class_name='class_3', max_points=100, seed=1,
                            domains=('semantic', 'spatial'))
    for p, q in zip(data.panels, again.panels):
        assert np.array_equal(p.points, q.points)
        assert np.array_equal(p.point_classes, q.point_classes)
        for role in p.protos:
            assert np.array_equal(p.protos[role], q.protos[role])
    # The seed picks the pixel sample (initialisation and neighbours are deterministic).
    _, other = tsne_figures(e, b, class_name='class_3', max_points=100, seed=2,
                            domains=('semantic', 'spatial'))
    assert not np.array_equal(other.panels[1].point_classes, data.panels[1].point_classes) \
        or not np.array_equal(other.panels[1].points, data.panels[1].points)
    # The figure is a plain function of the data.
    from analysis.figures.tsne import tsne_plotly
    assert tsne_plotly(again).to_json() == fig.to_json()


def test_tsne_cosines_match_shift(extractions):
    from analysis.figures.shift import shift_data
    from analysis.figures.tsne import tsne_figures
    e, _ = extractions
    _, data = tsne_figures(e, class_name=7, max_points=100, domains=('semantic',))
    row = shift_data(e).row('class_7')
    assert data.panels[0].cosines['fixed'] == pytest.approx(row.cos_fixed, abs=1e-5)
    assert data.panels[0].cosines['adapted'] == pytest.approx(row.cos_adapted, abs=1e-5)


def test_tsne_classifier_domain(extractions):
    """F + Pf with S and the final centers: the space the SSA-Seg logits live in."""
    from analysis.figures.shift import shift_data
    from analysis.figures.tsne import tsne_figures
    e, _ = extractions
    _, data = tsne_figures(e, class_name=3, max_points=80, domains=('classifier',))
    (panel,) = data.panels
    assert panel.domain == 'classifier' and set(panel.protos) == {'fixed', 'adapted'}
    assert panel.cosines['adapted'] == pytest.approx(shift_data(e).row('class_3').cos_center,
                                                     abs=1e-5)
    with pytest.raises(ValueError, match='unknown t-SNE domain'):
        tsne_figures(e, domains=('semantics',))


def test_tsne_unknown_class(extractions):
    from analysis.figures.tsne import tsne_figures
    with pytest.raises(KeyError, match='unknown class'):
        tsne_figures(extractions[0], class_name='sky', max_points=50)


def test_embed_backends_and_quality():
    from analysis import tsne as T
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(4, 16)) * 4
    x = np.concatenate([c + rng.normal(size=(60, 16)) for c in centers])
    for backend in T.BACKENDS:
        y = T.embed(x, seed=0, backend=backend)
        assert y.shape == (240, 2) and y.dtype == np.float32
        assert np.array_equal(y, T.embed(x, seed=0, backend=backend))
        assert T.trustworthiness(x, y, 5) > 0.85
        assert T.knn_preservation(x, y, 5) > 0.2
    with pytest.raises(ValueError):
        T.embed(x, backend='umap')
    assert T.embed(x[:1]).shape == (1, 2)


def test_trustworthiness_matches_sklearn():
    from sklearn.manifold import trustworthiness

    from analysis.tsne import trustworthiness as ours
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 12))
    y = x[:, :2] + 0.5 * rng.normal(size=(300, 2))
    assert ours(x, y, 7, chunk=64) == pytest.approx(trustworthiness(x, y, n_neighbors=7))


# --------------------------------------------------------------------------- relations

def test_relation_data(extractions):
    from analysis.figures.relations import relation_figures
    from ssa_seg.classifier import relation_matrix
    e, b = extractions
    fig, data = relation_figures(e, classes='present', order='index')
    assert data.classes == [0, 3, 7]
    assert list(data.matrices) == ['fixed S', 'adapted Sp', 'teacher S_hat']
    full = relation_matrix(e.sem_protos).numpy()
    np.testing.assert_allclose(data.matrices['adapted Sp'], full[np.ix_([0, 3, 7], [0, 3, 7])])
    np.testing.assert_allclose(relation_matrix(e.fixed_protos).numpy().sum(1), 1, rtol=1e-5)
    assert len(fig.data) == 3

    _, everything = relation_figures(e, classes='all', order='cluster')
    assert sorted(everything.classes) == list(range(K))
    for name, mat in everything.matrices.items():
        assert mat.shape == (K, K)
        ix = np.asarray(everything.classes)
        ref = relation_matrix(getattr(e, {'fixed S': 'fixed_protos', 'adapted Sp': 'sem_protos',
                                          'teacher S_hat': 'teacher_sem_protos'}[name])).numpy()
        np.testing.assert_allclose(mat, ref[np.ix_(ix, ix)], rtol=1e-6)
    _, top = relation_figures(e, classes=2)
    assert sorted(top.classes) == [3, 7] and top.selection == 'top-2'
    _, named = relation_figures(e, classes='class_9,class_1', order='index')
    assert named.class_names == ['class_9', 'class_1']
    _, vanilla = relation_figures(b)
    assert list(vanilla.matrices) == ['fixed S']
    # Colour scale: part of the data, so the app's export matches what it shows.
    log_fig, log_data = relation_figures(e)
    lin_fig, lin_data = relation_figures(e, scale='linear')
    assert log_data.scale == 'log' and lin_data.scale == 'linear'
    assert log_fig.layout.coloraxis.cmin == pytest.approx(-4)
    assert lin_fig.layout.coloraxis.cmin == 0
    with pytest.raises(ValueError):
        relation_figures(e, scale='sqrt')
    with pytest.raises(KeyError):
        relation_figures(e, classes=['nope'])


def test_cluster_order_groups_related_classes():
    from analysis.relations import cluster_order
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=8), rng.normal(size=8)
    protos = np.stack([a, b, a + 0.01 * rng.normal(size=8), b + 0.01 * rng.normal(size=8),
                       a + 0.02 * rng.normal(size=8)])
    order = cluster_order(protos).tolist()
    assert sorted(order) == list(range(5))
    groups = ['a' if i in (0, 2, 4) else 'b' for i in order]
    assert groups in (['a'] * 3 + ['b'] * 2, ['b'] * 2 + ['a'] * 3)


def test_relation_matrix_readable_with_150_classes(tmp_path):
    """150 classes: every class gets a tick label, font stays >= ~3.5 pt, file renders."""
    from analysis.figures import matplotlib_figure
    from analysis.figures.relations import relation_cell_inches
    from analysis.relations import RelationData
    n = 150
    rng = np.random.default_rng(0)
    mats = {'fixed S': rng.dirichlet(np.ones(n), size=n),
            'adapted Sp': rng.dirichlet(np.ones(n), size=n)}
    data = RelationData(matrices=mats, classes=list(range(n)),
                        class_names=[f'class name {i}' for i in range(n)], order='index',
                        selection='all', temperature=15.0)
    fig = matplotlib_figure(data)
    ax = fig.axes[0]
    assert len(ax.get_yticklabels()) == n
    assert ax.get_yticklabels()[0].get_fontsize() >= 3.5
    assert relation_cell_inches(n) * 72 >= 4
    from analysis.figures.relations import relation_plotly
    pfig = relation_plotly(data)
    assert pfig.layout.height >= n * 8


# --------------------------------------------------------------------------- files

def _check_file(path):
    raw = path.read_bytes()
    suffix = path.suffix
    if suffix == '.pdf':
        assert raw.startswith(b'%PDF-') and raw.rstrip().endswith(b'%%EOF')
        assert b'Matplotlib' in raw                     # written by matplotlib
        assert b'/Type3' not in raw                     # fonttype 42: TrueType, not Type 3
    elif suffix == '.svg':
        root = ET.fromstring(raw)
        assert root.tag.endswith('svg')
        # text stays text
        assert root.iter('{http://www.w3.org/2000/svg}text').__next__() is not None
    elif suffix == '.png':
        from PIL import Image
        with Image.open(io.BytesIO(raw)) as im:
            im.verify()
        with Image.open(io.BytesIO(raw)) as im:
            assert im.format == 'PNG' and im.size[0] > 300
    elif suffix == '.html':
        text = raw.decode('utf-8')
        assert '<html' in text and 'Plotly.newPlot' in text
        assert not re.search(r'<script[^>]*src=', text)   # plotly.js embedded: works offline


@pytest.mark.parametrize('kind', ['tsne', 'relations', 'shift'])
def test_exports_are_valid_files(extractions, tmp_path, kind):
    from analysis import figures
    e, b = extractions
    bundle = {'tsne': lambda: figures.tsne.tsne_figures(e, b, max_points=150),
              'relations': lambda: figures.relations.relation_figures(e),
              'shift': lambda: figures.shift.shift_table(e)}[kind]()
    for fmt in ('pdf', 'svg', 'png', 'html'):
        path = tmp_path / f'{kind}.{fmt}'
        written = figures.export_figure(bundle.data, path,
                                        figure=bundle.figure if fmt == 'html' else None)
        assert written == str(path)
        _check_file(path)
    with pytest.raises(ValueError, match='unsupported'):
        figures.export_figure(bundle.data, tmp_path / 'x.jpg')


def test_same_data_same_file(extractions, tmp_path):
    from analysis import figures
    e, _ = extractions
    first = figures.tsne.tsne_figures(e, max_points=120, seed=5).data
    second = figures.tsne.tsne_figures(e, max_points=120, seed=5).data
    for fmt in ('svg', 'pdf'):
        a = figures.export_matplotlib(first, tmp_path / f'a.{fmt}')
        b = figures.export_matplotlib(second, tmp_path / f'b.{fmt}')
        assert open(a, 'rb').read() == open(b, 'rb').read(), fmt


def test_paper_figure_sizes(extractions):
    from analysis import figures, style
    from analysis.figures import matplotlib_figure
    e, _ = extractions
    fig = matplotlib_figure(figures.shift.shift_table(e).data)
    assert fig.get_figwidth() == pytest.approx(style.SINGLE_COLUMN)
    one = matplotlib_figure(figures.tsne.tsne_figures(e, max_points=80, domains=('semantic',)).data)
    assert one.get_figwidth() == pytest.approx(style.SINGLE_COLUMN)
    three = matplotlib_figure(figures.tsne.tsne_figures(e, e, max_points=80).data)
    assert three.get_figwidth() <= style.DOUBLE_COLUMN


def test_relation_matrices_use_the_models_temperature(image):
    """R = softmax(t cos) at the classifier's own t (here 5, not the reference's 15)."""
    from analysis.extract import extract
    from analysis.relations import relation_data
    from ssa_seg.apis import init_model
    cfg = tiny_config('SegformerHead', ssa=True, num_classes=K)
    cfg['model']['decode_head']['temperature'] = 5.0
    torch.manual_seed(0)
    e = extract(init_model(cfg), image)
    assert e.temperature == 5.0
    data = relation_data(e, 'all', order='index')
    assert data.temperature == 5.0
    s = torch.nn.functional.normalize(e.fixed_protos.double(), dim=-1)
    by_hand = torch.softmax(5.0 * s @ s.T, dim=-1).numpy()
    assert np.allclose(data.matrices['fixed S'], by_hand, atol=1e-5)
    assert not np.allclose(by_hand, torch.softmax(15.0 * s @ s.T, dim=-1).numpy(), atol=1e-3)
