"""The Bayesian optimiser's engine: a Gaussian-process surrogate and its acquisition.

One module per concept, as :class:`sktune.search.Optimizer` uses them:

- ``kernels``: the Matern-5/2 kernel over the transformed unit cube (Hamming
  distance for categories) and ``ColumnLayout``, which maps search dimensions
  to columns;
- ``gp``: ``GaussianProcess``, the surrogate with maximum-a-posteriori
  hyperparameters (and told per-observation noise);
- ``warp``: ``TargetWarp``, the objective's output warping, its slope and inverse;
- ``surrogate``: one objective's GP over a search (when to refit);
- ``ehvi``: log expected hypervolume improvement (several objectives);
- ``acquisition``: log expected improvement, stable far from the incumbent;
- ``acq_optim``: ``AcquisitionOptimizer``, its multi-start maximisation over a
  ``Space`` (one batched L-BFGS-B problem plus discrete sweeps).

Nothing here knows about estimators or cross-validation: it takes points of
the unit cube and values to minimise.
"""
