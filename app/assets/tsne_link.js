/* The Analysis tab's image linked to the t-SNE (gr.HTML js_on_load; `element` is the
   component's root). A box or lasso selection in the t-SNE plot (plotly_selected on the
   plot's div) outlines the selected points' feature cells on the image; a deselect
   (double-click) clears them. The geometry comes from the server: each point's customdata
   is (row, col, y0, x0, y1, x1), its feature cell and the cell's pixel box on the
   processing-size image (analysis.figures.tsne.point_hover). The selection is readable in
   the DOM: data-selected on .tsne-link lists the cells "row,col;row,col" (sorted), and
   .tsne-link-count says how many. gr.Plot redraws with Plotly.react and may replace its
   div, so the listeners are (re)attached by a light poll. */
const HINT = 'Select points in the t-SNE (box or lasso) to outline their pixels here; '
  + 'double-click the plot to clear.';
const linked = new WeakMap();        // plot div -> [its event emitter, its data array]
function root() { return element.querySelector('.tsne-link'); }
function plotDiv() {
  const r = root();
  return r ? document.querySelector('#' + r.dataset.plot + ' .js-plotly-plot') : null;
}
function show(points) {
  const r = root();
  if (!r) { return; }
  const cells = new Map();
  let linkedPoints = 0;              // pixel points (the prototypes have no customdata)
  for (const p of points || []) {
    const c = p.customdata;            // a plain array, or a typed-array row (plotly's
    if (c && c.length >= 6) {          // binary encoding of numpy arrays)
      cells.set(c[0] + ',' + c[1], Array.from(c, Number));
      linkedPoints += 1;
    }
  }
  const W = +r.dataset.width, H = +r.dataset.height;
  const sorted = [...cells.values()].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const boxes = sorted.map(c => {
    const d = document.createElement('div');
    d.className = 'tsne-link-box';
    d.style.top = (100 * c[2] / H) + '%';
    d.style.left = (100 * c[3] / W) + '%';
    d.style.height = (100 * (c[4] - c[2]) / H) + '%';
    d.style.width = (100 * (c[5] - c[3]) / W) + '%';
    return d;
  });
  r.querySelector('.tsne-link-boxes').replaceChildren(...boxes);
  r.dataset.selected = sorted.map(c => c[0] + ',' + c[1]).join(';');
  let pixels = 0;
  for (const c of cells.values()) { pixels += (c[4] - c[2]) * (c[5] - c[3]); }
  r.querySelector('.tsne-link-count').textContent = points === null ? HINT
    : `${pixels} pixels of ${W * H} selected (${cells.size} feature cells, `
      + `${linkedPoints} points)`;
}
function attach() {
  const r = root();
  const gd = plotDiv();
  if (r) { r.hidden = !gd; }         // no t-SNE drawn (e.g. a new image): nothing to link
  if (!gd || typeof gd.on !== 'function') { return; }
  const seen = linked.get(gd);
  if (seen && seen[0] === gd._ev && seen[1] === gd.data) { return; }
  if (!seen || seen[0] !== gd._ev) {
    gd.on('plotly_selected', e => show(e && e.points ? e.points : []));
    gd.on('plotly_deselect', () => show(null));
  }
  linked.set(gd, [gd._ev, gd.data]);
  show(null);                        // a new figure: its selection is gone
}
setInterval(attach, 250);
watch('value', () => { show(null); attach(); });
