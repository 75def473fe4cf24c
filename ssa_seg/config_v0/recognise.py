"""Is a merged config 0.x, and which ``--cfg-options`` speak 0.x."""
from __future__ import annotations

from typing import Any, Mapping, Optional, Tuple

from .tables import V0_MARKERS, V0_OPTION_ROOTS, V1_MARKERS


def is_v0_config(cfg: Mapping[str, Any]) -> bool:
    """True if a merged config is in the 0.x format.

    It is 0.x when it has a key only 0.x configs have (``data``, ``runner``, ``lr_config``,
    ``evaluation``, ...: :data:`V0_MARKERS`) and none that only 1.x configs have
    (``train_dataloader``, ``optim_wrapper``, ...: :data:`V1_MARKERS`). A 1.x config that keeps
    a stray 0.x key is left alone, as mmengine would ignore that key.
    """
    keys = set(cfg)
    return bool(keys & V0_MARKERS) and not keys & V1_MARKERS


def split_options(options: Optional[Mapping[str, Any]]) -> Tuple[dict, dict]:
    """``--cfg-options`` of a 0.x config as (before translation, after translation).

    ``data.samples_per_gpu=2`` or ``runner.max_iters=100`` speak 0.x and go before;
    ``train_cfg.max_iters=100`` or ``model.decode_head.num_classes=19`` go after.
    """
    before, after = {}, {}
    for key, value in (options or {}).items():
        (before if key.split('.')[0] in V0_OPTION_ROOTS else after)[key] = value
    return before, after
