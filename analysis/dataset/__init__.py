"""Baseline against SSA-Seg over a whole data set (``python -m analysis dataset``).

* ``analysis.dataset.compare``  both models over the images: confusion and boundary counts,
                                summary numbers, the gallery choice, sharding under torchrun
* ``analysis.dataset.boundary`` the boundary band and boundary IoU
* ``analysis.dataset.gallery``  the gallery rows and their figure
* ``analysis.dataset.report``   the report folder: writing and reading it (the app's Dataset tab)
* ``analysis.dataset.cli``      the ``dataset`` command
"""
