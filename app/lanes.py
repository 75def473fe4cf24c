"""The analysis lane's own thread, at a lower CPU priority than segmentation.

The queue lanes (:mod:`app.page`) keep figures from waiting in, or holding up, the
segmentation queue; on a machine with few cores both still share the CPU. Figures run in one
dedicated thread whose Linux nice value is raised once (``ANALYSIS_NICE``); the threads it
starts (torch's OpenMP team, openTSNE's workers) inherit it, so segmentation gets the cores
first while a figure is computed. Where the priority cannot be lowered (not Linux), the
thread runs at normal priority.
"""
from __future__ import annotations

import contextvars
import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

ANALYSIS_NICE = 10


def _lower_priority() -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), ANALYSIS_NICE)
    except (OSError, AttributeError):      # not permitted, or not Linux: normal priority
        pass


_ANALYSIS = ThreadPoolExecutor(max_workers=1, thread_name_prefix='analysis',
                               initializer=_lower_priority)


def in_analysis_thread(fn: Callable) -> Callable:
    """``fn`` run in the analysis thread (the caller waits for it), with the caller's
    context (Gradio's progress bar reads it)."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        context = contextvars.copy_context()
        return _ANALYSIS.submit(context.run, fn, *args, **kwargs).result()
    return run
