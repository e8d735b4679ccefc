"""Training a fitted estimator further: the resource of multi-fidelity searches.

:class:`~sktune.HyperbandSearchCV` keeps each (candidate, fold) model between
rungs and trains it for more epochs instead of starting again. This module
says which parameter counts the epochs (the *resource*), whether an
estimator can be trained further, and does it.
"""

import inspect

from sklearn.pipeline import Pipeline

def resolve_resource(estimator, resource):
    """The full parameter name of ``resource`` in ``estimator``.

    ``'epochs'`` also finds ``'step__epochs'`` when exactly one step of a
    pipeline (or meta-estimator) has it.
    """
    names = estimator.get_params(deep=True)
    if resource in names:
        return resource
    matches = sorted(k for k in names if k.endswith(f"__{resource}"))
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ValueError(
            f"The estimator has no parameter {resource!r} to use as the resource (the "
            "number of epochs). Set resource to the parameter that counts training "
            "passes, e.g. 'epochs' for sktune networks or 'max_iter'."
        )
    raise ValueError(f"resource={resource!r} matches several parameters {matches}; "
                     "name the one to use.")


def _final_estimator(estimator, resource):
    """The estimator that owns ``resource`` (the last step of pipelines)."""
    while isinstance(estimator, Pipeline):
        step, resource = resource.split("__", 1)
        if step != estimator.steps[-1][0]:
            raise ValueError(
                f"The resource must be a parameter of the pipeline's last step "
                f"{estimator.steps[-1][0]!r}; got {step}__{resource}."
            )
        estimator = estimator.steps[-1][1]
    return estimator, resource


def _takes_epochs(method):
    try:
        return "epochs" in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


def check_continuable(estimator, resource):
    """Raise a clear error unless training of ``estimator`` can be continued."""
    final, _ = _final_estimator(estimator, resource)
    if not hasattr(final, "partial_fit"):
        raise TypeError(
            f"{type(final).__name__} cannot continue training: a multi-fidelity search "
            "trains each model further between rungs with partial_fit(X, y, epochs=k) "
            "(sktune networks) or partial_fit(X, y), one pass per call (SGDClassifier, "
            "MLPClassifier...). Use an estimator with partial_fit, or BayesSearchCV."
        )


def continue_training(estimator, X, y, resource, target, **fit_params):
    """Train a fitted ``estimator`` further until its ``resource`` reaches ``target``.

    Pipelines transform ``X`` with their fitted steps and continue the last
    one. An estimator whose ``partial_fit`` takes ``epochs`` (sktune's
    networks) gets one call; any other ``partial_fit`` is called once per
    epoch. For sktune networks the result equals a fit from scratch with the
    resource at ``target`` (except for learning-rate schedules whose shape
    depends on ``epochs``).

    Returns
    -------
    estimator : object
        ``estimator``, trained further, with ``resource`` set to ``target``.
    """
    current = estimator.get_params()[resource]
    n_more = int(target) - int(current)
    if n_more < 1:
        raise ValueError(f"Cannot continue training from {resource}={current} to {target}.")
    model, inner = estimator, resource
    while isinstance(model, Pipeline):
        final_name = model.steps[-1][0]
        for _, step in model.steps[:-1]:
            if step is not None and step != "passthrough":
                X = step.transform(X)
        prefix = f"{final_name}__"
        fit_params = {k[len(prefix):]: v for k, v in fit_params.items() if k.startswith(prefix)}
        model, inner = model.steps[-1][1], inner.split("__", 1)[1]
    if _takes_epochs(model.partial_fit):
        model.partial_fit(X, y, epochs=n_more, **fit_params)
    else:
        for _ in range(n_more):
            model.partial_fit(X, y, **fit_params)
    estimator.set_params(**{resource: target})
    return estimator
