/* Gallery choice -> Segment tab: click the tab's button (after the inputs are set). */
() => {
  const tab = [...document.querySelectorAll('button[role="tab"]')]
    .find((b) => b.textContent.trim() === 'Segment');
  if (tab) tab.click();
}
