/* Hides the image widget's preview until the browser has read the image's size (from its
   header; Chromium decodes the pixels only when it paints them) and keeps it hidden above
   the app's pixel limit (maxPixels, passed by app/page.py). Measured in chromium after an
   example click: a 12000 x 12000 PNG preview blocked the page's main thread 1.1-1.8 s
   (3 of 4 runs) before the refusal was shown. */
(maxPixels) => {
  const guard = (img) => {
    if (img.dataset.ssaGuard === img.src) return;
    img.dataset.ssaGuard = img.src;
    img.style.visibility = 'hidden';
    const show = () => {
      if (img.naturalWidth * img.naturalHeight <= maxPixels) img.style.visibility = '';
    };
    if (img.complete) show(); else img.addEventListener('load', show, {once: true});
  };
  const scan = () => document.querySelectorAll('#image-input img').forEach(guard);
  new MutationObserver(scan).observe(document.body, {subtree: true, childList: true,
                                                     attributes: true, attributeFilter: ['src']});
  scan();
}
