"""Checks of a paper figure's geometry (issue 22), shared by the figure tests: tick labels
that collide, text printed smaller than 6 pt, and the size against the page."""
import itertools


def _drawn(fig):
    """Draw ``fig`` (a bare Figure has no canvas of its own) and return its renderer."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig).draw()
    return fig.canvas.get_renderer()


def overlapping_tick_labels(fig):
    """Pairs of visible, non-empty tick labels (all axes, x and y) whose boxes intersect."""
    renderer = _drawn(fig)
    boxes = []
    for ax in fig.axes:
        for ticks, labels, limits in ((ax.get_xticks(), ax.get_xticklabels(), ax.get_xlim()),
                                      (ax.get_yticks(), ax.get_yticklabels(), ax.get_ylim())):
            lo, hi = sorted(limits)
            for tick, label in zip(ticks, labels):
                # the locator's ticks beyond the axis limits are not drawn
                if lo <= tick <= hi and label.get_visible() and label.get_text().strip():
                    boxes.append((label.get_text(), label.get_window_extent(renderer)))
    return [(a, b) for (a, ba), (b, bb) in itertools.combinations(boxes, 2)
            if ba.x0 < bb.x1 and bb.x0 < ba.x1 and ba.y0 < bb.y1 and bb.y0 < ba.y1]


def small_texts(fig, minimum=6.0):
    """(text, size) of every visible, non-empty text artist printed below ``minimum`` points
    (the figure is at its physical size, so its points are printed points)."""
    from matplotlib.text import Text
    _drawn(fig)
    return [(t.get_text(), t.get_fontsize()) for t in fig.findobj(Text)
            if t.get_visible() and t.get_text().strip() and t.get_fontsize() < minimum - 1e-9]
