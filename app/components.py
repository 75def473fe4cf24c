"""Upload widgets that hand the raw uploaded file to our own loaders.

``gr.Image`` normally opens every upload with PIL before the app sees it (and converts
anything not RGB, decoding every pixel), so a non-image fails inside Gradio with no message
and a huge greyscale PNG is decoded in full before our size limit could refuse it.
:class:`UploadedImage` keeps Gradio's image widget in the page but passes the uploaded
file's path through unopened; ``analysis.io.load_image`` then checks the header and decodes
with its own limits and messages. Both widgets refuse remote URLs: the app never fetches.

Why classes and not per-instance patches: whenever an event returns a property update for a
component (``gr.Examples`` does so for its inputs each time an example is clicked), Gradio
rebuilds that component for the session as ``type(block)(**block.constructor_args)`` and
uses the rebuilt one from then on. Methods replaced on the instance were lost that way (the
upload protection vanished after an example click); methods of the class survive.

The classes are made by :func:`_component_class` rather than a ``class`` statement: Gradio's
component metaclass writes a ``.pyi`` stub beside the module of every component subclass at
import time, which a library must not do to its own source folder.
"""
from __future__ import annotations

from abc import ABCMeta
from pathlib import Path
from typing import Optional

import gradio as gr
from gradio_client import handle_file
from gradio_client import utils as client_utils

REMOTE_REFUSED = 'This app does not fetch URLs; upload the file itself.'
EXAMPLES_DIR = Path(__file__).resolve().parent / 'examples'


def example_file(kind: str) -> Optional[str]:
    """The first shipped example of ``kind`` (``images`` or ``labels``), as a local path:
    the "Use via API" page's example input (Gradio's own is a GitHub URL, which neither
    works offline nor passes this app's refusal of URLs)."""
    folder = EXAMPLES_DIR / kind
    files = sorted(f for f in folder.glob('*.png') if f.is_file()) if folder.is_dir() else []
    return str(files[0]) if files else None


def _example_methods(kind: str) -> dict:
    def example_payload(self):
        # ``url`` too: the page's Python snippet shows ``handle_file(<url>)``
        path = example_file(kind)
        return None if path is None else dict(handle_file(path), url=path)

    def example_value(self):
        return example_file(kind)

    return dict(example_payload=example_payload, example_value=example_value)


def _refuse_remote(url_or_file_path) -> None:
    if url_or_file_path is not None and client_utils.is_http_url_like(str(url_or_file_path)):
        raise gr.Error(REMOTE_REFUSED)


def _component_class(name: str, base: type, methods: dict) -> type:
    """``class name(base)`` with ``methods``, made by ``ABCMeta`` directly so that Gradio's
    ``ComponentMeta.__new__`` (which only adds the stub writer on top, since we define no
    ``__init__`` and no ``EVENTS``) is skipped. ``is_template`` makes the page draw it with
    the base component's front end (``gr.Image``'s widget, ``gr.File``'s widget)."""
    meta = type(base)
    attrs = dict(methods, __module__=__name__, __qualname__=name, is_template=True)
    return ABCMeta.__new__(meta, name, (base,), attrs)


async def _async_local_move(self, url_or_file_path):
    _refuse_remote(url_or_file_path)
    return await super(type(self), self).async_move_resource_to_block_cache(url_or_file_path)


def _local_move(self, url_or_file_path):
    _refuse_remote(url_or_file_path)
    return super(type(self), self).move_resource_to_block_cache(url_or_file_path)


def _path_only(self, payload):
    """The uploaded file's path, not decoded (``analysis.io`` does that, safely)."""
    if payload is None:
        return None
    if payload.path is None:
        raise gr.Error('The image upload arrived without a file; upload it again.')
    return str(payload.path)


UploadedImage = _component_class('UploadedImage', gr.Image, dict(
    preprocess=_path_only, async_move_resource_to_block_cache=_async_local_move,
    move_resource_to_block_cache=_local_move, **_example_methods('images')))
UploadedFile = _component_class('UploadedFile', gr.File, dict(
    async_move_resource_to_block_cache=_async_local_move,
    move_resource_to_block_cache=_local_move, **_example_methods('labels')))


def uploaded_image(**kwargs) -> gr.Image:
    """An image widget whose value reaches the app as the uploaded file's path, undecoded."""
    return UploadedImage(type='filepath', **kwargs)


def uploaded_file(**kwargs) -> gr.File:
    """``gr.File`` (one file, passed as its path) that refuses remote URLs."""
    return UploadedFile(type='filepath', **kwargs)
