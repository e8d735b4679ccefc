"""Named choices of the estimators' parameters, resolved to torch objects."""

import torch

#: ``optimizer`` names -> torch optimiser classes.
OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
}

#: Optimisers that take the ``momentum`` parameter.
MOMENTUM_OPTIMIZERS = ("sgd", "rmsprop")

#: Optimisers whose ``weight_decay`` adds ``weight_decay * w`` to the gradient,
#: which is exactly the gradient of the L2 penalty ``0.5 * alpha * ||w||^2``.
#: (AdamW decouples its decay, so for it the penalty goes into the loss.)
COUPLED_WEIGHT_DECAY = (torch.optim.SGD, torch.optim.Adam, torch.optim.RMSprop,
                        torch.optim.Adagrad)

#: Optimisers with a fused kernel on CPU and CUDA (one kernel for all
#: parameters instead of a Python loop over them: the same update, faster).
FUSED_OPTIMIZERS = (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW,
                    torch.optim.Adagrad)

#: Prefixes of the extra ``<prefix>__<arg>`` parameters the estimators route.
ROUTED_PREFIXES = ("module", "optimizer", "criterion", "lr_schedule")


def penalty_coefficients(penalty, alpha, l1_ratio):
    """Return ``(l1, l2)`` coefficients of ``alpha * R(w)`` in sklearn's sense.

    ``R`` is ``0.5 ||w||^2`` for 'l2', ``||w||_1`` for 'l1', and
    ``(1 - l1_ratio) * 0.5 ||w||^2 + l1_ratio * ||w||_1`` for 'elasticnet'
    (as in :class:`sklearn.linear_model.SGDClassifier`).
    """
    if penalty is None or alpha == 0:
        return 0.0, 0.0
    if penalty == "l2":
        return 0.0, float(alpha)
    if penalty == "l1":
        return float(alpha), 0.0
    return float(alpha * l1_ratio), float(alpha * (1 - l1_ratio))

