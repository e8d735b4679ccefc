"""Exceptions raised by sktune (all subclass a built-in sklearn-style error)."""

__all__ = ["DivergenceError", "CheckpointMismatchError", "PersistenceError"]


class DivergenceError(ValueError):
    """Training diverged: the loss became NaN or infinite.

    Raised by ``fit``/``partial_fit`` of the network estimators as soon as a
    non-finite loss is seen (after the offending batch), so no epoch is
    wasted on a network whose weights are already ruined. Inside a search it
    is a failed fit like any other: its score is ``error_score``.

    Attributes
    ----------
    epoch : int
        The epoch (1-based) in which the loss became non-finite.
    batch : int or None
        The batch (1-based) of that epoch, when known.
    loss : float
        The non-finite loss value.

    Examples
    --------
    >>> from sktune.exceptions import DivergenceError
    >>> issubclass(DivergenceError, ValueError)
    True
    """

    def __init__(self, message, *, epoch=None, batch=None, loss=None):
        super().__init__(message)
        self.epoch = epoch
        self.batch = batch
        self.loss = loss


class CheckpointMismatchError(ValueError):
    """A search checkpoint belongs to another search (estimator, space, data or CV)."""


class PersistenceError(ValueError):
    """A saved file cannot be loaded: unknown format version, tampering, or bad content."""
