"""Where a multi-fidelity search's candidates come from (BOHB-style, or quasi-random).

BOHB (Falkner et al., 2018, "BOHB: robust and efficient hyperparameter
optimization at scale", ICML) replaces Hyperband's random candidates with
proposals of a model fitted to the scores seen so far, at the *largest
number of epochs that has enough scores*: early on that is the first rung's
cheap scores, later the full-length ones. Here the model is sktune's
Gaussian-process :class:`~sktune.search.Optimizer` (BOHB uses a kernel
density estimator), and a third of each batch stays quasi-random, as in
BOHB, so a misleading early model cannot shut regions out for good.

Only the scores at the model's number of epochs enter it, as in BOHB. (Also
feeding it the candidates cut earlier, as if they had the worst score, made
the proposals hug the early leaders; on the benchmark's tasks, where some of
the best settings start slowly (strong dropout, small learning rates), that
did worse than leaving them out.)
"""

import math
from collections import defaultdict

import numpy as np
from sklearn.utils import check_random_state

from ..optimizer import Optimizer

#: Share of each batch drawn from the space-filling design rather than the model.
RANDOM_FRACTION = 1 / 3


class FidelityProposer:
    """Propose candidates; learn from their scores at every number of epochs.

    Parameters
    ----------
    space : Space
        The search space.
    method : {'bayes', 'random'}
        'bayes': model-based proposals once some number of epochs has at
        least ``n_initial_points`` finite scores; 'random': scrambled Sobol
        points throughout.
    random_state : int
        Seed; equal seeds and equal scores give equal proposals.
    optimizer_kwargs : dict, default=None
        Arguments of :class:`~sktune.search.Optimizer`; ``n_initial_points``
        (default ``max(5, n_dims + 2)``) also sets how many scores a number
        of epochs needs before its model is used.
    """

    def __init__(self, space, method, random_state, optimizer_kwargs=None):
        self.space = space
        self.method = method
        kwargs = dict(optimizer_kwargs or {})
        self.n_initial_points = int(kwargs.pop("n_initial_points",
                                               max(5, len(space.names) + 2)))
        self._optimizer_kwargs = kwargs
        self._rng = check_random_state(random_state)
        # Never told anything: it only walks its space-filling design.
        self._design = Optimizer(space, random_state=self._rng.randint(2**31),
                                 n_initial_points=2**31 - 1, **kwargs)
        # epochs -> (points, values to minimise, their noise variances)
        self._seen = defaultdict(lambda: ([], [], []))

    def tell(self, points, epochs, scores, noise=None):
        """Record mean CV ``scores`` (higher is better) of ``points`` at ``epochs``,
        and the noise variance of each (``nan``: unknown)."""
        seen_points, values, noises = self._seen[epochs]
        noise = [math.nan] * len(scores) if noise is None else noise
        for point, score, var in zip(points, scores, noise):
            seen_points.append(point)
            values.append(-float(score) if math.isfinite(score) else math.nan)
            noises.append(float(var))

    def model_epochs(self):
        """The largest number of epochs with enough finite scores for a model, or None."""
        usable = [e for e, (_, values, _) in self._seen.items()
                  if np.isfinite(values).sum() >= self.n_initial_points]
        return max(usable) if usable else None

    def ask(self, n):
        """``n`` candidates (dicts)."""
        epochs = self.model_epochs() if self.method == "bayes" else None
        if epochs is None:
            return self._design.ask(n_points=n)
        n_random = int(math.floor(n * RANDOM_FRACTION))
        points, values, noise = self._seen[epochs]
        model = Optimizer(self.space, random_state=self._rng.randint(2**31),
                          n_initial_points=0, **self._optimizer_kwargs)
        model.tell(points, values, noise=noise)
        proposed = model.ask(n_points=n - n_random)
        if n_random:
            proposed += self._design.ask(n_points=n_random)
        return proposed
