"""The translator's error, and the one check that names keys it does not know."""
from __future__ import annotations

from typing import Any, Mapping, Sequence


class ConfigTranslationError(ValueError):
    """A 0.x config holds something the translator does not understand (named in the message)."""


def check_keys(where: str, given: Mapping[str, Any], known: Sequence[str],
               ignore: Sequence[str] = ()) -> None:
    """Raise :class:`ConfigTranslationError` naming the keys of ``given`` not in ``known``.

    ``where`` says which part of the config ``given`` is (``'data.train'``, ``'lr_config'``,
    ``'pipeline[2] Resize'``); keys in ``ignore`` (e.g. a transform's ``type``) are not checked.
    """
    unknown = [k for k in given if k not in known and k not in ignore]
    if unknown:
        raise ConfigTranslationError(
            f'{where}: unknown key(s) {", ".join(map(repr, unknown))} (this translator knows '
            f'{", ".join(map(repr, known))}); translate them by hand or remove them')
