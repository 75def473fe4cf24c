"""The page's messages: library errors turned into one readable message (``gr.Error``).

User-derived text is escaped here, because Gradio renders a message as HTML.
"""
from __future__ import annotations

import contextlib
import html
import logging

import gradio as gr

log = logging.getLogger('app')


def user_error(message: str, title: str = 'Cannot segment this input') -> gr.Error:
    """A message for the page (rendered as HTML by Gradio, so user-derived text is escaped)."""
    return gr.Error(html.escape(str(message), quote=False), title=title, print_exception=False)


@contextlib.contextmanager
def user_errors(bad_input: str, failure: str = 'Analysis failed'):
    """Library errors inside the block as the page's one message: a ``ValueError`` or
    ``KeyError`` (a bad input or option) titled ``bad_input``; anything else logged and
    titled ``failure``; a message already made (``gr.Error``) passes unchanged."""
    try:
        yield
    except gr.Error:
        raise
    except (ValueError, KeyError) as err:
        raise user_error(err, bad_input) from None
    except Exception as err:
        log.exception(failure)
        raise user_error(f'{type(err).__name__}: {err}', failure) from None


def message_html(title: str = '', text: str = '', kind: str = 'error') -> str:
    """The one message of a run (``text`` is already escaped HTML, as in ``gr.Error``)."""
    if not text:
        return ''
    colour = {'error': '#b00020', 'note': '#8a5a00'}.get(kind, '#333')
    return (f'<div class="ssa-message ssa-{kind}" role="alert" style="border-left:4px solid '
            f'{colour};padding:6px 10px;background:#fff6f6;color:#222">'
            f'<strong>{html.escape(title)}</strong>: {text}</div>')
