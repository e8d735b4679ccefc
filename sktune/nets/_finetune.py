"""Fine-tuning a network: which parameters train, at which learning rate.

The estimators' ``freeze``, ``unfreeze_at``, ``lr_multipliers``,
``reinit_head`` and skorch-style ``optimizer__param_groups`` are resolved
here, on the module of one fit (already a copy of a pretrained instance):

- *names*: a pattern names parameters as ``fnmatch`` does (``"features.*"``)
  and also names a module's parameters by the module's name (``"features"``);
- *layers*: :func:`layers` cuts a network into its top-level children that
  hold parameters, looking through a single wrapping child (``MLP.layers``,
  a backbone in a wrapper), so ``freeze=2`` and the layer-wise decay
  ``lr_multipliers=0.5`` mean the same thing for any network;
- frozen parameters get ``requires_grad=False``: no gradient, so torch's
  optimisers skip them (no step, no weight decay, no momentum) and they stay
  bit-identical; normalisation layers whose parameters are all frozen keep
  their running statistics (:func:`frozen_norms` are kept in eval mode).
"""

from fnmatch import fnmatchcase

from torch import nn

_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def _matches(name, pattern):
    return fnmatchcase(name, pattern) or fnmatchcase(name, pattern + ".*")


def _available(names, limit=12):
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _layer_names(module):
    return [name for name, _ in layers(module)]


def matching(names, pattern, what, module):
    """The parameter ``names`` that ``pattern`` matches; ValueError naming what
    there is when it matches none."""
    hits = [n for n in names if _matches(n, pattern)]
    if not hits:
        raise ValueError(
            f"{what} pattern {pattern!r} matches no parameter of {type(module).__name__}. "
            f"Its layers are: {_available(_layer_names(module))}; its parameters: "
            f"{_available(names)}. Patterns match parameter names (fnmatch, e.g. "
            "'features.*') or module names ('features')."
        )
    return hits


def _own_parameters(module):
    return [name for name, _ in module.named_parameters(recurse=False)]


def layers(module):
    """``[(prefix, [parameter names])]``: the network's layers in order.

    A layer is a top-level child that holds parameters; a network with a
    single such child and no parameters of its own is looked through (so
    ``MLP``'s layers are its ``Linear`` layers, not its one ``Sequential``).
    Parameters that belong to no child (a class token, a positional table)
    count with the first layer.
    """
    prefix = ""
    while True:
        children = [(n, c) for n, c in module.named_children()
                    if any(True for _ in c.parameters())]
        if len(children) == 1 and not _own_parameters(module):
            name, module = children[0]
            prefix += name + "."
            continue
        break
    out = [(prefix + name, [prefix + name + "." + p for p, _ in child.named_parameters()])
           for name, child in children]
    loose = [prefix + p for p in _own_parameters(module)]
    if not out:
        return [(prefix.rstrip(".") or "(network)", loose)] if loose else []
    out[0] = (out[0][0], loose + out[0][1])
    return out


def frozen_names(module, freeze):
    """The names of the parameters ``freeze`` freezes (None: none)."""
    if freeze is None or (isinstance(freeze, int) and freeze == 0):
        return set()
    names = [n for n, _ in module.named_parameters()]
    if isinstance(freeze, int):
        found = layers(module)
        if freeze > len(found):
            raise ValueError(
                f"freeze={freeze} asks for more layers than {type(module).__name__} has: "
                f"{len(found)} ({_available([n for n, _ in found])}).")
        frozen = {p for _, params in found[:freeze] for p in params}
    else:
        patterns = [freeze] if isinstance(freeze, str) else list(freeze)
        frozen = {n for pattern in patterns for n in matching(names, pattern, "freeze", module)}
    if len(frozen) == len(names):
        raise ValueError(
            f"freeze={freeze!r} freezes every parameter of {type(module).__name__}, which "
            "leaves nothing to train; leave at least the output layer trainable (its layers: "
            f"{_available(_layer_names(module))}).")
    return frozen


def lr_factors(module, lr_multipliers):
    """``{parameter name: factor on lr}`` (names absent: factor 1).

    A dict maps patterns to factors (the first pattern that matches a
    parameter gives its factor); a float ``d`` is layer-wise decay: the last
    of ``n`` layers (the head) keeps ``lr``, layer ``i`` gets ``d ** (n-1-i)``.
    """
    if lr_multipliers is None:
        return {}
    if isinstance(lr_multipliers, dict):
        names = [n for n, _ in module.named_parameters()]
        factors = {}
        for pattern, factor in lr_multipliers.items():
            for name in matching(names, pattern, "lr_multipliers", module):
                factors.setdefault(name, float(factor))
        return factors
    found = layers(module)
    last = len(found) - 1
    return {p: float(lr_multipliers) ** (last - i)
            for i, (_, params) in enumerate(found) for p in params}


def user_groups(module, param_groups):
    """``{parameter name: (group index, options)}`` for skorch-style
    ``optimizer__param_groups=[(pattern, {option: value}), ...]``: the first
    pattern that matches a parameter puts it in that group."""
    if not param_groups:
        return {}
    names = [n for n, _ in module.named_parameters()]
    assigned = {}
    for index, entry in enumerate(param_groups):
        if not (isinstance(entry, (tuple, list)) and len(entry) == 2
                and isinstance(entry[0], str) and isinstance(entry[1], dict)):
            raise ValueError(
                "optimizer__param_groups must be a list of (pattern, options) pairs, e.g. "
                f"[('features.*', {{'lr': 1e-4}})]; got the entry {entry!r}.")
        pattern, options = entry
        for name in matching(names, pattern, "optimizer__param_groups", module):
            assigned.setdefault(name, (index, dict(options)))
    return assigned


def find_head(module, name=None):
    """``(name, nn.Linear)``: the output layer, by ``name`` or the last ``nn.Linear``
    registered in the network (None when it has none)."""
    linears = [(n, m) for n, m in module.named_modules() if isinstance(m, nn.Linear)]
    if name is None:
        return linears[-1] if linears else None
    found = dict(module.named_modules()).get(name)
    if not isinstance(found, nn.Linear):
        raise ValueError(
            f"reinit_head={name!r} is not an nn.Linear layer of {type(module).__name__}; its "
            f"Linear layers are: {_available([n for n, _ in linears]) or 'none'}.")
    return name, found


def prepare_head(module, n_outputs, reinit_head, pretrained):
    """Re-initialise or replace the output layer as ``reinit_head`` says.

    ``reinit_head`` False keeps it (for a pretrained instance whose head does
    not have ``n_outputs`` outputs that is an error that says what to do);
    True or a layer name re-initialises it (torch's default initialisation,
    from the seeded stream), replacing it by a fresh ``nn.Linear`` when its
    width differs from ``n_outputs``.
    """
    if not reinit_head and not pretrained:
        return
    found = find_head(module, reinit_head if isinstance(reinit_head, str) else None)
    if found is None:
        if reinit_head:
            raise ValueError(f"reinit_head={reinit_head!r}, but {type(module).__name__} has no "
                             "nn.Linear layer to re-initialise.")
        return
    name, head = found
    if not reinit_head:
        if n_outputs is not None and head.out_features != n_outputs:
            raise ValueError(
                f"The pretrained network's output layer {name!r} has {head.out_features} "
                f"outputs, but the data needs {n_outputs}; set reinit_head=True to replace it "
                f"by a new {n_outputs}-output layer (or reinit_head='<layer name>' if "
                f"{name!r} is not the output layer).")
        return
    if n_outputs is None or head.out_features == n_outputs:
        head.reset_parameters()
        return
    weight = head.weight
    new = nn.Linear(head.in_features, n_outputs, bias=head.bias is not None,
                    device=weight.device, dtype=weight.dtype)
    parent_name, _, attr = name.rpartition(".")
    parent = module.get_submodule(parent_name) if parent_name else module
    setattr(parent, attr, new)


def frozen_norms(module, frozen=None):
    """Normalisation layers (BatchNorm, InstanceNorm with running statistics)
    whose parameters are all frozen, or that sit inside such a module: frozen
    as ``requires_grad`` says, or as the parameter names ``frozen`` say."""
    out = []
    frozen_parents = set()
    for name, m in module.named_modules():
        params = [(f"{name}.{n}" if name else n, p) for n, p in m.named_parameters()]
        inside = any(name == p or name.startswith(p + ".") for p in frozen_parents)
        if params and all(n in frozen if frozen is not None else not p.requires_grad
                          for n, p in params):
            frozen_parents.add(name)
            inside = True
        if inside and isinstance(m, nn.modules.batchnorm._NormBase):
            out.append(m)
    return out


def set_requires_grad(module, names, value):
    for name, p in module.named_parameters():
        if name in names:
            p.requires_grad_(value)


def trainable(module):
    """Whether any parameter of ``module`` takes gradients."""
    return any(p.requires_grad for p in module.parameters())

