"""What ``sktune tune``'s options build: the network, its search space and the search.

The tuned object is the pipeline ``preprocess -> net`` (:data:`NET` names the
network's step, so its parameters are ``net__<name>``); the space comes from
``--space`` or the model's default (:mod:`sktune.cli._space_file`); the
search is the one ``--search`` names, with a total number of fits for the
progress display.
"""

import math

from ._errors import CLIError, user_errors

__all__ = ["MODELS", "TEXT_MODELS", "SEARCHES", "TASKS", "DEFAULT_METRIC", "EPOCHS", "NET", "check_scoring", "make_net",
           "read_space", "check_image_features", "make_search", "hyperband_fits"]

MODELS = ("mlp", "resmlp", "cnn", "transformer", "rnn")
#: Models that read token ids: the text column's (--text-column).
TEXT_MODELS = ("transformer", "rnn")
SEARCHES = ("bayes", "random", "grid", "hyperband")
TASKS = ("classification", "regression")
#: The score reported for each task when ``--scoring`` is not given.
DEFAULT_METRIC = {"classification": "accuracy", "regression": "r2"}
#: Epochs of each model's network (a space file may search or fix them).
EPOCHS = {"mlp": 20, "resmlp": 20, "cnn": 15, "transformer": 10, "rnn": 10}
NET = "net"  # the network's step in the tuned pipeline; its parameters are net__<name>
#: Candidates a budgeted search may propose when --n-iter is not given (the budget ends it).
BUDGETED_N_ITER = 10_000


#: Objectives of --objectives that are not scikit-learn scorer names.
OBJECTIVE_SIZE = ("neg_n_parameters",)
OBJECTIVE_TIMES = ("fit_time", "score_time")


def objective_scoring(names):
    """The search's ``scoring`` for ``--objectives``: one scorer per score objective."""
    from ..nets._size import neg_n_parameters  # sktune.metrics' size scorer

    return {name: neg_n_parameters if name in OBJECTIVE_SIZE else name
            for name in names if name not in OBJECTIVE_TIMES}


def check_scoring(scoring, task):
    """One line for an unknown scorer, or one that does not fit the task."""
    from sklearn.metrics import get_scorer

    if scoring is None:
        return
    try:
        scorer = get_scorer(scoring)
    except ValueError:
        raise CLIError(f"unknown --scoring {scoring!r}; use a scikit-learn scorer name such as "
                       "accuracy, balanced_accuracy, f1_macro, roc_auc (classification) or r2, "
                       "neg_mean_absolute_error, neg_root_mean_squared_error (regression); "
                       "sklearn.metrics.get_scorer_names() lists them all.") from None
    module = getattr(getattr(scorer, "_score_func", None), "__module__", "") or ""
    kind = ("classification" if module.endswith(("_classification", "_ranking"))
            else "regression" if module.endswith("_regression") else None)
    if kind is not None and kind != task:
        raise CLIError(f"--scoring {scoring!r} is a {kind} metric, but the task is {task}.")


def make_net(task, model, random_state, verbose=False, images=False, num_workers=0,
             vocab_size=None):
    """The unfitted network of ``--model`` for ``task``.

    On an image folder it reads the images with ``num_workers`` processes and
    augments training batches with a random shift, ``train_transform__max_shift``
    (0, no shift, unless the space searches it). The text models read token
    ids below ``vocab_size`` and train with a linear warmup and decay
    (``lr_schedule='linear'``, ``lr_schedule__warmup`` searched by default).
    """
    from ..nets import NeuralNetClassifier, NeuralNetRegressor
    from ..nets._callbacks import EpochLog
    from ..nets.modules import ConvNet, ResidualMLP
    from ..nets.sequence_modules import RNN, Transformer

    cls = NeuralNetClassifier if task == "classification" else NeuralNetRegressor
    module = {"mlp": None, "resmlp": ResidualMLP, "cnn": ConvNet, "transformer": Transformer,
              "rnn": RNN}[model]
    extra = {}
    if model in TEXT_MODELS:
        extra = {"module__vocab_size": int(vocab_size), "lr_schedule": "linear"}
    if images:
        from ..data import RandomShift

        extra = {"train_transform": RandomShift(0), "num_workers": num_workers}
    return cls(module=module, epochs=EPOCHS[model], random_state=random_state,
               callbacks=[EpochLog()] if verbose else None, **extra)


def read_space(args, net, images=False):
    """The :class:`~sktune.cli._space_file.SpaceSpec` of ``--space`` or the default."""
    from ._space_file import default_space, parse_space, read_space_file, space_parameters

    with user_errors():
        if args.space is None:
            what = f"the default {args.model} space{' for images' if images else ''}"
            return parse_space(default_space(args.model, images=images),
                               space_parameters(net), source=what)
        content = read_space_file(args.space)
        return parse_space(content, space_parameters(net), source=f"space file {args.space!r}")


def check_image_features(args, spec, preprocessor, X):
    """``--model cnn`` needs a square image (unless the space fixes module__input_shape)."""
    from sklearn.base import clone

    if args.model != "cnn" or "module__input_shape" in spec.dimensions:
        return
    n = clone(preprocessor).fit_transform(X.iloc[:50]).shape[1]
    if math.isqrt(n) ** 2 != n:
        raise CLIError(f"--model cnn needs square single-channel images, but the data has {n} "
                       "features after preprocessing; use --model mlp, or set "
                       "module__input_shape in a --space file.")


def make_search(args, pipe, spec, progress):
    """``(search, total fits or None)`` for ``--search``."""
    from joblib import effective_n_jobs
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    from ..search import BayesSearchCV, HyperbandSearchCV

    from ..search.callbacks import TimeBudgetStopper

    prefix = f"{NET}__"
    common = {"scoring": args.scoring, "n_jobs": args.n_jobs, "cv": args.cv}
    objectives = getattr(args, "objectives", None)
    if objectives is not None:  # BayesSearchCV(objectives=...): one scorer per score
        common.update(scoring=objective_scoring(objectives), objectives=list(objectives),
                      refit=args.scoring)
    budget = getattr(args, "time_budget", None)
    callbacks = [progress.on_round]
    if budget is not None:
        callbacks.append(TimeBudgetStopper(budget))
    # with a time budget and no --n-iter: as many candidates as the budget allows
    n_iter = args.n_iter or (BUDGETED_N_ITER if budget is not None else 50)
    total = None if budget is not None and args.n_iter is None else n_iter * args.cv
    if args.search == "bayes" or (args.search == "random" and budget is not None):
        # enough pending candidates to feed the workers: (n_points + 1) x folds >= J
        n_points = max(1, min(math.ceil(effective_n_jobs(args.n_jobs) / args.cv), n_iter))
        # random within a budget: the optimiser's space-filling design, never a model
        design = {"n_initial_points": n_iter} if args.search == "random" else None
        search = BayesSearchCV(pipe, spec.bayes(prefix), n_iter=n_iter, n_points=n_points,
                               random_state=args.random_state, checkpoint=args.checkpoint,
                               callbacks=callbacks, optimizer_kwargs=design, **common)
        return search, total
    if args.search == "random":
        search = RandomizedSearchCV(pipe, spec.distributions(prefix), n_iter=n_iter,
                                    random_state=args.random_state, **common)
        space_size = math.prod(d.n_values for d in spec.dimensions.values())
        return search, min(n_iter, space_size) * args.cv
    if args.search == "grid":
        return GridSearchCV(pipe, spec.grid_values(prefix), **common), \
            spec.n_grid_points() * args.cv
    rest, epochs = spec.without("epochs")
    if not rest.dimensions:
        raise CLIError("--search hyperband searches epochs itself: the space needs other "
                       "parameters than epochs.")
    min_epochs, max_epochs = 1, pipe.named_steps[NET].epochs
    if epochs is not None:  # the space's epochs range: the first and the last rung's
        values = epochs.categories if hasattr(epochs, "categories") else (epochs.low,
                                                                          epochs.high)
        max_epochs = int(max(values))
        if len(set(values)) > 1:  # a fixed value leaves the first cut at 1 epoch
            min_epochs = int(min(values))
    search = HyperbandSearchCV(pipe, rest.bayes(prefix), max_epochs=max_epochs,
                               min_epochs=min_epochs,
                               factor=3, proposals="bayes", random_state=args.random_state,
                               checkpoint=args.checkpoint, callbacks=callbacks,
                               # without a budget: one iteration; with one, until it is spent
                               hyperband_iterations=None if budget is not None else 1,
                               **common)
    return search, None if budget is not None else hyperband_fits(search)


def hyperband_fits(search):
    """Fits of a Hyperband search: every (candidate, rung) x folds."""
    from ..search._hyperband.brackets import hyperband_brackets

    brackets = hyperband_brackets(search.max_epochs, search.min_epochs, search.factor,
                                  search.n_brackets)
    return search.cv * sum(rung.n_candidates for rungs in brackets for rung in rungs)
