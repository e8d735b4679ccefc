"""scikit-optimize's names for the optimiser's options, read the sktune way.

A user of skopt's ``BayesSearchCV`` passes ``optimizer_kwargs`` meant for
``skopt.Optimizer`` (``base_estimator="GP"``, ``acq_func="gp_hedge"``,
``n_random_starts``...). :func:`optimizer_arguments` turns them into the
arguments of :class:`~sktune.search.Optimizer`: an option that means the same
here is translated, one that only changes skopt's speed or bookkeeping is
accepted and has no effect, and one sktune cannot honour raises a
``ValueError`` that says what to do instead. docs/migrating.md lists them all.
"""

import warnings

__all__ = ["optimizer_arguments"]

#: skopt options accepted for compatibility that change nothing here.
_NO_EFFECT = (
    "n_jobs",            # the acquisition is maximised as one batched problem
    "acq_optimizer",     # always: sampled candidates, then multi-start L-BFGS-B (checked below)
    "random_state",      # as in skopt, BayesSearchCV(random_state=...) seeds the optimiser
    "model_queue_size",  # the optimiser keeps its current model only
)
_ACQ_OPTIMIZERS = ("auto", "lbfgs", "sampling")
#: skopt's acq_optimizer_kwargs keys -> sktune's (None: accepted, no effect).
_ACQ_OPTIMIZER_KEYS = {"n_points": "n_candidates", "n_restarts_optimizer": "n_restarts",
                       "n_jobs": None}
_SKTUNE_KEYS = ("n_initial_points", "acq_func", "acq_optimizer_kwargs")
_SKOPT_KEYS = ("base_estimator", "n_random_starts", "initial_point_generator",
               "space_constraint", "acq_func_kwargs", "avoid_duplicates",
               *_NO_EFFECT)


def _base_estimator(value):
    if isinstance(value, str) and value.lower() == "gp":
        return
    if isinstance(value, str) and value.lower() in ("rf", "et", "gbrt"):
        what = {"rf": "a random forest", "et": "extra trees",
                "gbrt": "gradient-boosted trees"}[value.lower()]
        raise ValueError(
            f"optimizer_kwargs['base_estimator']={value!r} asks for {what} as the surrogate "
            "model; sktune's model is a Gaussian process (with a Hamming kernel for "
            "categories, so mixed spaces need no trees). Remove base_estimator, or pass 'GP'."
        )
    if isinstance(value, str) and value.lower() == "dummy":
        raise ValueError(
            "optimizer_kwargs['base_estimator']='dummy' asks for random search; use "
            "sklearn.model_selection.RandomizedSearchCV (sktune's space dimensions work "
            "there too), or remove base_estimator."
        )
    raise ValueError(
        f"optimizer_kwargs['base_estimator']={value!r}: sktune's optimiser uses its own "
        "Gaussian process and takes no surrogate model; remove base_estimator (or pass 'GP')."
    )


def _acq_func(value):
    name = value.lower() if isinstance(value, str) else value
    if name in ("logei", "ei", "gp_hedge"):
        # EI and log EI have the same maximiser; gp_hedge (skopt's default, a portfolio
        # of EI, PI and LCB) is read as its EI member.
        return "logei"
    raise ValueError(
        f"optimizer_kwargs['acq_func']={value!r} is not available: sktune maximises the log "
        "expected improvement ('logei'; 'EI' and skopt's default 'gp_hedge' mean it too). "
        "Remove acq_func or pass 'EI'."
    )


def _acq_optimizer_kwargs(value):
    out = {}
    for key, item in dict(value or {}).items():
        if key in _ACQ_OPTIMIZER_KEYS:
            if _ACQ_OPTIMIZER_KEYS[key] is not None:
                out[_ACQ_OPTIMIZER_KEYS[key]] = item
        else:
            out[key] = item  # sktune's own keys; the Optimizer checks them
    return out


def optimizer_arguments(optimizer_kwargs):
    """The :class:`~sktune.search.Optimizer` arguments that ``optimizer_kwargs``
    (sktune's or scikit-optimize's keys) mean.

    Raises
    ------
    ValueError
        For an option sktune cannot honour, naming what to use instead.

    Examples
    --------
    >>> optimizer_arguments({"base_estimator": "GP", "acq_func": "gp_hedge",
    ...                      "n_random_starts": 5})
    {'acq_func': 'logei', 'n_initial_points': 5}
    """
    kwargs = dict(optimizer_kwargs or {})
    unknown = sorted(set(kwargs) - set(_SKTUNE_KEYS) - set(_SKOPT_KEYS))
    if unknown:
        raise ValueError(
            f"Unknown optimizer_kwargs {unknown}; sktune's Optimizer takes "
            f"{list(_SKTUNE_KEYS)}, and scikit-optimize's {list(_SKOPT_KEYS)} are read as "
            "described in docs/migrating.md."
        )
    out = {}
    if "base_estimator" in kwargs:
        _base_estimator(kwargs["base_estimator"])
    if "acq_func" in kwargs:
        out["acq_func"] = _acq_func(kwargs["acq_func"])
    if "n_random_starts" in kwargs:
        if "n_initial_points" in kwargs:
            raise ValueError("optimizer_kwargs gives both n_random_starts and n_initial_points; "
                             "n_random_starts is scikit-optimize's old name of "
                             "n_initial_points: keep n_initial_points.")
        warnings.warn("optimizer_kwargs['n_random_starts'] is scikit-optimize's deprecated "
                      "name of n_initial_points; use n_initial_points.", FutureWarning,
                      stacklevel=3)
        out["n_initial_points"] = kwargs["n_random_starts"]
    if "n_initial_points" in kwargs:
        out["n_initial_points"] = kwargs["n_initial_points"]
    generator = kwargs.get("initial_point_generator", "sobol")
    if not (isinstance(generator, str) and generator.lower() == "sobol"):
        raise ValueError(
            f"optimizer_kwargs['initial_point_generator']={generator!r}: sktune's initial "
            "points always come from a scrambled Sobol design (space-filling, like 'lhs' or "
            "'halton'; better spread than 'random'). Remove it, or pass 'sobol'."
        )
    if kwargs.get("space_constraint") is not None:
        raise ValueError(
            "optimizer_kwargs['space_constraint'] is not supported: the optimiser cannot "
            "reject points. Encode the constraint in the space (e.g. split it into "
            "sub-spaces, search_spaces=[(dict, n_iter), ...]) or make the estimator fail on "
            "invalid points (failed candidates are avoided)."
        )
    if kwargs.get("acq_func_kwargs"):
        raise ValueError(
            f"optimizer_kwargs['acq_func_kwargs']={kwargs['acq_func_kwargs']!r}: the log "
            "expected improvement has no exploration knobs (skopt's xi, kappa, eta); remove "
            "acq_func_kwargs. More initial points (n_initial_points) explore more."
        )
    if kwargs.get("avoid_duplicates", True) is not True:
        raise ValueError("optimizer_kwargs['avoid_duplicates']=False is not supported: "
                         "sktune never proposes an evaluated point again; remove it.")
    acq = kwargs.get("acq_optimizer", "auto")
    if acq not in _ACQ_OPTIMIZERS:
        raise ValueError(f"optimizer_kwargs['acq_optimizer'] must be one of "
                         f"{list(_ACQ_OPTIMIZERS)}; got {acq!r}.")
    if "acq_optimizer_kwargs" in kwargs:
        out["acq_optimizer_kwargs"] = _acq_optimizer_kwargs(kwargs["acq_optimizer_kwargs"])
    return out
