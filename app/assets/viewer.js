/* The Segment tab's viewer (gr.HTML js_on_load; `element` is the component's root).
   Zoom and pan shared by every panel (one transform for all), kept across re-renders of the
   same image; hover reads the class under the pointer from the grey-level index pictures. */
const view = { key: null, s: 1, x: 0, y: 0 };
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
    view.key = root.dataset.key; view.s = 1; view.x = 0; view.y = 0;
  }
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
element.addEventListener('mousedown', e => {
  const pane = e.target.closest('.ssa-pane');
  if (!pane || e.button !== 0) { return; }
  e.preventDefault();
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
  const r = pane.getBoundingClientRect();
  const W = +root.dataset.width, H = +root.dataset.height;
  const col = Math.floor(((e.clientX - r.left - view.x) / view.s) / r.width * W);
  const row = Math.floor(((e.clientY - r.top - view.y) / view.s) / r.height * H);
  if (col < 0 || row < 0 || col >= W || row >= H) { return; }
  const names = JSON.parse(root.dataset.classes);
  const parts = Object.entries(indexData).map(([role, m]) => {
    const v = m.data[4 * (row * m.w + col)];
    return `${role}: ${v === 255 ? '(ignored)' : (names[v] ?? v)}`;
  });
  out.textContent = `pixel (${col}, ${row}): ` + parts.join(' | ');
});
loadIndices();
watch('value', loadIndices);
