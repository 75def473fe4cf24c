"""The page's tabs: each module builds its widgets (returned in a dataclass) and wires its
own events; :mod:`app.page` builds every tab first, then connects the cross-tab events."""
