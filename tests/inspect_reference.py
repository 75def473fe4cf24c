"""An independent computation of the pixel inspector's numbers (``analysis.inspect``):
full-size ``F.interpolate`` maps from an extraction of its own and ``inference_model``'s
``seg_logits``, compared with an inspector answer in its JSON form (``/inspect``)."""
import torch
import torch.nn.functional as F

from ssa_seg.apis import extract_head_features, inference_model, ssa_classifier

TOLERANCE = 1e-4


@torch.no_grad()
def independent(model_base, model_ssa, rgb):
    """Image-size softmaxes of both models, the coarse mask, F and F + Pf (all upsampled to
    the image size, bilinear, align_corners=False), the centres and fixed prototypes."""
    size = rgb.shape[:2]
    soft = {role: torch.softmax(inference_model(m, rgb).seg_logits.data.double(), 0)
            for role, m in (('baseline', model_base), ('ssa', model_ssa))}
    feat, _ = extract_head_features(model_ssa, rgb)
    clf = ssa_classifier(model_ssa)
    out = clf.adapt(feat)

    def up(t):
        return F.interpolate(t.double(), size=size, mode='bilinear', align_corners=False)[0]
    return dict(soft=soft, coarse=torch.softmax(up(out.coarse), 0), feat=up(feat),
                joint=up(feat + out.pos_feat), centers=out.centers[0].double(),
                fixed=clf.fixed_prototypes.double())


def _check_top(listed, probs, names):
    expected = torch.sort(probs, descending=True)
    assert [p['class'] for p in listed] == [names[i] for i in expected.indices[:5]]
    assert max(abs(p['prob'] - float(v)) for p, v in zip(listed, expected.values)) <= TOLERANCE


def check_json(data, ref, y, x, names):
    """Assert an inspector answer (JSON) at pixel (y, x) against :func:`independent`."""
    for role in ('baseline', 'ssa'):
        _check_top(data[role]['top'], ref['soft'][role][:, y, x], names)
    _check_top(data['ssa']['coarse_top'], ref['coarse'][:, y, x], names)
    listed = {p['class'] for p in data['ssa']['top'] + data['ssa']['coarse_top']}
    assert {c['class'] for c in data['ssa']['classes']} == listed
    for c in data['ssa']['classes']:
        k = names.index(c['class'])
        fixed = F.cosine_similarity(ref['fixed'][k], ref['feat'][:, y, x], dim=0)
        center = F.cosine_similarity(ref['centers'][k], ref['joint'][:, y, x], dim=0)
        assert abs(c['cos_fixed'] - float(fixed)) <= TOLERANCE
        assert abs(c['cos_center'] - float(center)) <= TOLERANCE
