"""Watching searches: TensorBoard logs of every fit and an HParams view of every candidate.

- :class:`TensorBoardLogger` (``_tensorboard``): a scikit-learn callback
  (``search.set_callbacks(...)``, scikit-learn >= 1.9) that scikit-learn
  propagates to every fit; each sktune network writes its epochs into a run of
  its own, and the search's candidates become HParams sessions. Needs the
  ``tensorboard`` extra.

Trackers only read: the networks hand them their history, the searches their
``cv_results_``. See ``docs/monitoring.md``.
"""

from ._tensorboard import TensorBoardLogger

__all__ = ["TensorBoardLogger"]
