"""The figure registry: what a figure kind is, its options as data, and the table of kinds.

Kind modules (``analysis.figures.tsne``, ...) import this module, never the package, so the
package can import them without a cycle. :class:`FigureOption` is the one description of an
option from which the CLI flags (:meth:`FigureKind.add_arguments`), the app's widgets
(:func:`option_widget_specs`) and the checked keyword values (:meth:`FigureKind.options`)
are all made.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from ..roles import ROLES

OPTION_TYPES = (str, int, float)


class FigureBundle(NamedTuple):
    figure: Any             # plotly.graph_objects.Figure
    data: Any               # the kind's data object (TsneData, RelationData, ShiftData, ...)


@dataclass(frozen=True)
class FigureOption:
    """One option of a figure kind: a keyword of its data function, a CLI flag, an app widget.

    name: the keyword; the flag is ``--`` + name with ``-`` for ``_`` unless ``flag`` is given.
    type: ``str``, ``int`` or ``float``: what the flag parses and which widget the app shows.
    default: the value when none is given; ``None`` leaves the data function's own default.
    help, choices, metavar: as in argparse (``help`` is argparse text: ``%%`` for ``%``).
    minimum: the smallest allowed number (``int``/``float``).
    parse: given value -> keyword value, e.g. ``'semantic,spatial'`` -> a tuple; raises
        ValueError with a message naming the flag.
    with_classes: ``(value, class names of the model) -> value``, applied once the model is
        loaded: a class given by name becomes its index, unknown names are refused.
    focus: the value is the highlighted class (the app has its own list of the image's
        classes; the paper report sets it to its Fig. 1 class).
    """
    name: str
    type: type = str
    default: Any = None
    help: str = ''
    choices: Optional[Tuple[Any, ...]] = None
    metavar: Optional[str] = None
    flag: Optional[str] = None
    minimum: Optional[float] = None
    parse: Optional[Callable[[Any], Any]] = None
    with_classes: Optional[Callable[[Any, Sequence[str]], Any]] = None
    focus: bool = False

    def __post_init__(self):
        if self.type not in OPTION_TYPES:
            raise ValueError(f'figure option {self.name!r}: type must be str, int or float')

    @property
    def cli_flag(self) -> str:
        return self.flag or '--' + self.name.replace('_', '-')

    def value(self, given: Any) -> Any:
        """The keyword value of ``given`` (a value of ``type``, or text to convert)."""
        try:
            value = self.type(given)
        except (TypeError, ValueError):
            raise ValueError(f'{self.cli_flag} {given}: expected {self.type.__name__}') \
                from None
        if self.choices is not None and value not in self.choices:
            raise ValueError(f'{self.cli_flag} {value}: choose from '
                             f'{", ".join(map(str, self.choices))}')
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f'{self.cli_flag} must be at least {self.minimum:g}')
        return self.parse(value) if self.parse is not None else value


@dataclass(frozen=True)
class FigureKind:
    """One figure of the toolkit.

    name: registry key, CLI command and file stem.   title: shown in the app.
    data: ``(ssa, baseline=None, **options) -> data object``.
    data_type: the class of that object (how an exporter finds the renderers).
    plotly / matplotlib: ``data object -> figure``.
    uses_baseline: whether ``data`` draws the baseline model too.
    options: the kind's options (:class:`FigureOption`), keywords of ``data``.
    to_json: ``data object -> JSON-ready dict`` (for ``.json`` export), if it has numbers.
    summary: ``data object -> dict``: the few numbers the paper report records for a kind
        without ``to_json`` (e.g. the t-SNE's cosines).
    level: ``'image'`` (``data(ssa, baseline=None, **options)`` on one image's extractions)
        or ``'set'`` (``data(figure_set, **options)``, see :mod:`analysis.figureset`).
    roles: the models the figure draws (of :data:`ROLES`): what a set-level command needs,
        and what the paper report needs before it draws the figure.
    caption: ``data object -> text``: what is plotted, which claim of the paper it checks
        and whether it holds on these numbers (the paper report's captions).
    """
    name: str
    title: str
    data: Callable[..., Any]
    data_type: type
    plotly: Callable[[Any], Any]
    matplotlib: Callable[[Any], Any]
    uses_baseline: bool = False
    options: Tuple[FigureOption, ...] = ()
    to_json: Optional[Callable[[Any], dict]] = None
    summary: Optional[Callable[[Any], dict]] = None
    level: str = 'image'
    roles: Tuple[str, ...] = ('ssa',)
    caption: Optional[Callable[[Any], str]] = None

    def add_arguments(self, group) -> None:
        """The kind's CLI flags, made from :attr:`options`, on an argparse parser or group."""
        for option in self.options:
            group.add_argument(option.cli_flag, dest=option.name, type=option.type,
                               default=option.default, choices=option.choices,
                               metavar=option.metavar, help=option.help or None)

    def option_values(self, given: Mapping[str, Any]) -> dict:
        """The checked keyword options from ``given`` (option name -> value; missing or None:
        the option's default). ValueError names a bad one."""
        values = {}
        for option in self.options:
            value = given.get(option.name)
            value = option.default if value is None else value
            if value is not None:
                values[option.name] = option.value(value)
        return values

    def options_from_args(self, args) -> dict:
        """:meth:`option_values` of parsed CLI arguments."""
        return self.option_values(vars(args))

    def with_classes(self, values: Mapping[str, Any], class_names: Sequence[str]) -> dict:
        """``values`` with class names resolved against the model's ``class_names``."""
        resolved = dict(values)
        for option in self.options:
            if option.with_classes is not None and resolved.get(option.name) is not None:
                resolved[option.name] = option.with_classes(resolved[option.name], class_names)
        return resolved

    def focus_option(self) -> Optional[FigureOption]:
        return next((o for o in self.options if o.focus), None)


FIGURES: Dict[str, FigureKind] = {}


def register_figure(kind: FigureKind) -> FigureKind:
    if kind.level not in ('image', 'set'):
        raise ValueError(f'figure kind {kind.name!r}: level must be image or set')
    if kind.name in FIGURES:
        raise ValueError(f'figure kind {kind.name!r} is registered twice')
    unknown = [r for r in kind.roles if r not in ROLES]
    if unknown:
        raise ValueError(f'figure kind {kind.name!r}: unknown roles {unknown}')
    FIGURES[kind.name] = kind
    return kind


def figure_kind(name_or_data) -> FigureKind:
    """The kind by name, or the kind whose data type ``name_or_data`` is."""
    if isinstance(name_or_data, str):
        if name_or_data not in FIGURES:
            raise KeyError(f'unknown figure {name_or_data!r}; known: {", ".join(FIGURES)}')
        return FIGURES[name_or_data]
    for kind in FIGURES.values():
        if isinstance(name_or_data, kind.data_type):
            return kind
    raise TypeError(f'no figure kind draws {type(name_or_data).__name__}')


def image_kinds() -> Dict[str, FigureKind]:
    """The per-image kinds (what the app draws for an uploaded image)."""
    return {name: kind for name, kind in FIGURES.items() if kind.level == 'image'}


def set_kinds() -> Dict[str, FigureKind]:
    """The set-level kinds (several images / models)."""
    return {name: kind for name, kind in FIGURES.items() if kind.level == 'set'}


@dataclass(frozen=True)
class WidgetSpec:
    """What the app needs to draw one option as a widget (pure data, no gradio).

    widget: ``'dropdown'`` (``choices``), ``'number'`` (``precision`` 0 for integers, None
    for floats) or ``'text'``; ``value``: the initial value; ``label``: ``'kind: flag'``.
    """
    kind: str
    name: str
    widget: str
    label: str
    value: Any
    info: str
    choices: Optional[Tuple[Any, ...]] = None
    precision: Optional[int] = None


def option_widget_specs(kind: FigureKind) -> List[WidgetSpec]:
    """The app's widgets for a kind's options, from the same :class:`FigureOption` data as the
    CLI flags (the highlighted class is left out: the app lists the image's classes)."""
    specs = []
    for o in kind.options:
        if o.focus:
            continue
        common = dict(kind=kind.name, name=o.name, label=f'{kind.name}: {o.cli_flag[2:]}',
                      info=o.help.replace('%%', '%'))
        if o.choices is not None:
            specs.append(WidgetSpec(widget='dropdown', value=o.default, choices=o.choices,
                                    **common))
        elif o.type in (int, float):
            specs.append(WidgetSpec(widget='number', value=o.default,
                                    precision=0 if o.type is int else None, **common))
        else:
            specs.append(WidgetSpec(widget='text', value='' if o.default is None
                                    else str(o.default), **common))
    return specs
