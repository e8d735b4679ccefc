"""Save and load fitted estimators and searches without pickle.

A saved file is a zip archive:

- ``manifest.json``: ``{"format": "sktune", "version": 2, "kind": ...}``;
- ``estimator.json`` / ``search.json``: parameters and fitted attributes,
  encoded as JSON by :mod:`sktune.persistence._codec`;
- ``weights.pt`` (estimators): module and optimiser ``state_dict``s and the
  random state, read back with ``torch.load(..., weights_only=True)``;
- ``pipeline.json`` (a ``Pipeline`` whose last step is a network): the
  pipeline's parameters and its fitted scikit-learn steps (a
  ``ColumnTransformer`` with its fitted imputers, scalers and encoders...),
  with the network itself under ``final_estimator/``;
- a search's best estimator (a network or such a pipeline) under
  ``best_estimator/``;
- ``metadata.json``, optional: JSON data given to :func:`save`
  (:func:`load_metadata` reads it).

Version 2 added pipelines and metadata; version 1 files still load.

**Trust model.** :func:`load` never runs pickle: JSON is parsed as data and
``weights_only=True`` lets torch read tensors, numbers and containers only (a
pickled payload placed there is refused). A file may *name* classes and
Python functions by import path (a custom module class, a loss); loading
imports the named modules (their top-level code runs, as with any import) and
refuses builtins (``os.system``), instances and missing names. The only
objects it constructs are scikit-learn estimators, skorch callbacks and, when
the network is rebuilt, the estimator's own module, criterion and optimiser
classes, which must pass the estimator's parameter validation first
(``module`` must be a ``torch.nn.Module`` subclass, and so on). Fitted
pipeline steps are restored only for scikit-learn's own estimators (classes
of the ``sklearn`` package): built with their constructor, then given their
fitted attributes (arrays, lists, dtypes, nested fitted scikit-learn
estimators) as plain data. So a file
cannot bring code of its own, but it can make :func:`load` import and
instantiate classes installed on your machine: load files from people you
would accept a list of ``import`` statements from.
"""

from ._archive import FORMAT_VERSION, SavedSearch, load, load_metadata, save

__all__ = ["save", "load", "load_metadata", "SavedSearch", "FORMAT_VERSION"]
