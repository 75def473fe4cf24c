"""The Models tab: each pair's models, what they were trained on, their val mIoU
(:func:`app.views.models_markdown`), and which pairs are loaded."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from .. import views
from ..pairs import PairRegistry


def models_text(registry: PairRegistry) -> str:
    return views.models_markdown(registry.specs.values(), registry.loaded_names)


@dataclass
class ModelsTab:
    info: gr.Markdown

    def details(self, registry: PairRegistry) -> dict:
        """After a run: a pair loaded on first use now shows as loaded."""
        return {self.info: models_text(registry)}


def build_models_tab(registry: PairRegistry) -> ModelsTab:
    """The tab, inside the Blocks being built (call it inside ``gr.Blocks``)."""
    with gr.Tab('Models'):
        return ModelsTab(gr.Markdown(models_text(registry), elem_id='models-info'))
