"""One recursive walk over nested config values (dicts, lists, tuples)."""
from __future__ import annotations

import copy
from typing import Any, Callable, Mapping, Optional

#: ``visit(node, where, key) -> node``: ``where`` is the node's dotted path (``'model.backbone'``,
#: ``'model.decode_head[1]'``), ``key`` its key in the parent mapping (None in a list, at the root).
Visit = Callable[[Any, str, Optional[str]], Any]


def walk(value: Any, visit: Optional[Visit] = None, where: str = '',
         key: Optional[str] = None) -> Any:
    """A deep copy of ``value``: mappings (mmengine ConfigDicts too) become dicts, lists and
    tuples stay lists and tuples, anything else is deep-copied.

    ``visit`` sees every node before its children are copied and returns the node to keep
    (the node itself, or a new one: it must not change the node it is given).
    """
    if visit is not None:
        value = visit(value, where, key)
    if isinstance(value, Mapping):
        return {k: walk(x, visit, f'{where}.{k}', k) for k, x in value.items()}
    if isinstance(value, (list, tuple)):
        items = (walk(x, visit, f'{where}[{i}]') for i, x in enumerate(value))
        return tuple(items) if isinstance(value, tuple) else list(items)
    return copy.deepcopy(value)


def plain(value: Any) -> Any:
    """A deep copy with mmengine ConfigDicts turned into dicts and tuples kept."""
    return walk(value)
