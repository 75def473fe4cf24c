/* The Segment tab's viewer (gr.HTML js_on_load; `element` is the component's root).
   Zoom and pan shared by every panel (one transform for all), kept across re-renders of the
   same image; hover reads the class under the pointer from the grey-level index pictures;
   a click (a press that does not drag) marks the pixel on every panel and sends it to the
   server as a `select` event with {row, col} (the pixel inspector). */
const view = { key: null, s: 1, x: 0, y: 0, mark: null };
let press = null;
let drag = null;
const indexData = {};
function viewer() { return element.querySelector('.ssa-viewer'); }
function clamp(pane) {
  if (!pane) { return; }
  const w = pane.clientWidth, h = pane.clientHeight;
  view.x = Math.min(0, Math.max(w - w * view.s, view.x));
  view.y = Math.min(0, Math.max(h - h * view.s, view.y));
}
function apply() {
  const root = viewer();
  if (!root) { return; }
  const t = `translate(${view.x}px, ${view.y}px) scale(${view.s})`;
  root.querySelectorAll('.ssa-layer').forEach(l => { l.style.transform = t; });
  root.dataset.zoom = view.s.toFixed(4);
}
function loadIndices() {
  const root = viewer();
  for (const k of Object.keys(indexData)) { delete indexData[k]; }
  if (!root) { return; }
  if (root.dataset.key !== view.key) {
    view.key = root.dataset.key; view.s = 1; view.x = 0; view.y = 0; view.mark = null;
  }
  drawMark();
  apply();
  root.querySelectorAll('img.ssa-index').forEach(img => {
    const read = () => {
      const c = document.createElement('canvas');
      c.width = img.naturalWidth; c.height = img.naturalHeight;
      const ctx = c.getContext('2d', { willReadFrequently: true });
      ctx.drawImage(img, 0, 0);
      indexData[img.dataset.role] = {
        w: c.width, data: ctx.getImageData(0, 0, c.width, c.height).data };
    };
    if (img.complete && img.naturalWidth) { read(); }
    else { img.addEventListener('load', read, { once: true }); }
  });
}
element.addEventListener('wheel', e => {
  const pane = e.target.closest('.ssa-pane');
  if (!pane) { return; }
  e.preventDefault();
  const r = pane.getBoundingClientRect();
  const px = e.clientX - r.left, py = e.clientY - r.top;
  const s = Math.min(32, Math.max(1, view.s * (e.deltaY < 0 ? 1.25 : 0.8)));
  view.x = px - (px - view.x) * s / view.s;
  view.y = py - (py - view.y) * s / view.s;
  view.s = s; clamp(pane); apply();
}, { passive: false });
function drawMark() {
  const root = viewer();
  if (!root) { return; }
  root.querySelectorAll('.ssa-mark').forEach(m => m.remove());
  if (!view.mark) { return; }
  const W = +root.dataset.width, H = +root.dataset.height;
  root.querySelectorAll('.ssa-pane').forEach(pane => {
    const layer = document.createElement('div');
    layer.className = 'ssa-layer ssa-mark';
    const dot = document.createElement('span');
    dot.style.left = `${100 * (view.mark.col + 0.5) / W}%`;
    dot.style.top = `${100 * (view.mark.row + 0.5) / H}%`;
    layer.appendChild(dot);
    pane.appendChild(layer);
  });
}
function pixelAt(e, pane) {
  const root = viewer();
  const r = pane.getBoundingClientRect();
  const W = +root.dataset.width, H = +root.dataset.height;
  const col = Math.floor(((e.clientX - r.left - view.x) / view.s) / r.width * W);
  const row = Math.floor(((e.clientY - r.top - view.y) / view.s) / r.height * H);
  return (col < 0 || row < 0 || col >= W || row >= H) ? null : { row, col };
}
element.addEventListener('click', e => {
  const pane = e.target.closest('.ssa-pane');
  if (!pane || !press || Math.hypot(e.clientX - press.x, e.clientY - press.y) > 3) { return; }
  const at = pixelAt(e, pane);
  if (!at) { return; }
  view.mark = at; drawMark(); apply();
  trigger('select', at);
});
element.addEventListener('mousedown', e => {
  const pane = e.target.closest('.ssa-pane');
  if (!pane || e.button !== 0) { return; }
  e.preventDefault();
  press = { x: e.clientX, y: e.clientY };
  drag = { pane, x: e.clientX - view.x, y: e.clientY - view.y };
});
window.addEventListener('mousemove', e => {
  if (!drag) { return; }
  view.x = e.clientX - drag.x; view.y = e.clientY - drag.y; clamp(drag.pane); apply();
});
window.addEventListener('mouseup', () => { drag = null; });
element.addEventListener('dblclick', e => {
  if (!e.target.closest('.ssa-pane')) { return; }
  view.s = 1; view.x = 0; view.y = 0; apply();
});
element.addEventListener('mousemove', e => {
  const pane = e.target.closest('.ssa-pane');
  const root = viewer();
  const out = element.querySelector('.ssa-readout');
  if (!pane || !root || !out) { return; }
  const at = pixelAt(e, pane);
  if (!at) { return; }
  const { row, col } = at;
  const names = JSON.parse(root.dataset.classes);
  const parts = Object.entries(indexData).map(([role, m]) => {
    const v = m.data[4 * (row * m.w + col)];
    return `${role}: ${v === 255 ? '(ignored)' : (names[v] ?? v)}`;
  });
  out.textContent = `pixel (${col}, ${row}): ` + parts.join(' | ');
});
loadIndices();
watch('value', loadIndices);
