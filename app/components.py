"""Upload widgets that hand the raw uploaded file to our own loaders.

``gr.Image`` normally opens every upload with PIL before the app sees it, so a decompression
bomb or a non-image would fail inside Gradio with an unhelpful message. ``uploaded_image``
keeps Gradio's image widget in the page but passes the uploaded file's path through
unopened; ``analysis.io.load_image`` then decodes it with its own limits and messages.
Both widgets refuse remote URLs: the app never fetches anything.

The widgets are ordinary ``gr.Image`` / ``gr.File`` instances whose two hooks are replaced
on the instance. (Subclassing a Gradio component would make Gradio write a ``.pyi`` stub
next to this file at import time.)
"""
from __future__ import annotations

import gradio as gr
from gradio_client import utils as client_utils

REMOTE_REFUSED = 'This app does not fetch URLs; upload the file itself.'


def _refuse_remote(url_or_file_path) -> None:
    if url_or_file_path is not None and client_utils.is_http_url_like(str(url_or_file_path)):
        raise gr.Error(REMOTE_REFUSED)


def _local_files_only(component):
    """Make ``component`` refuse URL inputs (Gradio would download them) before caching."""
    move_async = component.async_move_resource_to_block_cache
    move_sync = component.move_resource_to_block_cache

    async def async_move_resource_to_block_cache(url_or_file_path):
        _refuse_remote(url_or_file_path)
        return await move_async(url_or_file_path)

    def move_resource_to_block_cache(url_or_file_path):
        _refuse_remote(url_or_file_path)
        return move_sync(url_or_file_path)

    component.async_move_resource_to_block_cache = async_move_resource_to_block_cache
    component.move_resource_to_block_cache = move_resource_to_block_cache
    return component


def uploaded_image(**kwargs) -> gr.Image:
    """An image widget whose value reaches the app as the uploaded file's path, undecoded."""
    component = gr.Image(type='filepath', **kwargs)

    def preprocess(payload):
        if payload is None:
            return None
        if payload.path is None:
            raise gr.Error('The image upload arrived without a file; upload it again.')
        return str(payload.path)

    component.preprocess = preprocess
    return _local_files_only(component)


def uploaded_file(**kwargs) -> gr.File:
    """``gr.File`` (one file, passed as its path) that refuses remote URLs."""
    return _local_files_only(gr.File(type='filepath', **kwargs))
