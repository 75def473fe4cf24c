"""The models of a pair, by role: what a command takes (:mod:`analysis.pair_args`), what a
figure draws (``FigureKind.roles``) and what a :class:`~analysis.figureset.FigureSet` holds.

* ``'baseline'``: the vanilla classifier,
* ``'ssa'``: SSA-Seg,
* ``'ablation'``: SSA-Seg trained without distillation (no teacher; paper Fig. 3/6).
"""
ROLES = ('baseline', 'ssa', 'ablation')
