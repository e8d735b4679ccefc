"""The estimator a pipeline ends with (where a fitted network lives)."""


def final_step(estimator):
    """The last step of a (nested) scikit-learn ``Pipeline``, or ``estimator``
    itself when it is not one."""
    steps = getattr(estimator, "steps", None)
    while isinstance(steps, list) and steps:
        estimator = steps[-1][1]
        steps = getattr(estimator, "steps", None)
    return estimator
