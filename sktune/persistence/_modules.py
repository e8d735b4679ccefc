"""A pretrained ``nn.Module`` instance (an estimator's ``module``) in a saved file.

The instance is written with ``torch.save`` and read back with torch's
``weights_only`` unpickler, which rebuilds tensors and containers only,
plus the ``nn.Module`` classes this module allows after checking every
global the file names: each must be a torch ``nn.Module`` subclass found
under its own import path (:func:`~sktune.persistence._codec.resolve`'s
rules). Such a class is instantiated without calling its constructor and
given its saved attributes (``nn.Module.__setstate__``); a function, a
builtin or any other object named by the file is refused.

A Hugging Face model (whose pickle names functions such as its activation)
is written as plain data instead: its class's import path, its config as
JSON and its ``state_dict`` (:mod:`sktune._hf`); loading it calls the class
with the config and loads the weights.
"""

import io

import torch

from .. import _hf
from ..exceptions import PersistenceError
from ._codec import import_path, resolve


def module_bytes(module, where="module"):
    """``module`` (an ``nn.Module`` instance) as the bytes of a ``torch.save``;
    PersistenceError when one of its classes could not be imported back."""
    buffer = io.BytesIO()
    if _hf.is_model(module):
        torch.save(_hf.model_parts(module, import_path), buffer)
        return buffer.getvalue()
    for name, part in module.named_modules():
        import_path(type(part))  # a class defined in a function cannot be found by name
    try:
        torch.save(module, buffer)
    except Exception as exc:  # an attribute pickle cannot write (a lambda, a lock...)
        raise PersistenceError(f"{where} (a {type(module).__name__} instance) cannot be "
                               f"saved: {type(exc).__name__}: {exc}") from None
    return buffer.getvalue()


def _module_class(name):
    """The ``nn.Module`` subclass named ``'package.module.Class'`` (dotted, as torch
    lists globals), or PersistenceError."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        path = ".".join(parts[:cut]) + ":" + ".".join(parts[cut:])
        try:
            cls = resolve(path)
        except PersistenceError:
            continue
        if isinstance(cls, type) and issubclass(cls, torch.nn.Module):
            return cls
        break
    raise PersistenceError(
        f"The saved module names {name!r}, which is not a torch.nn.Module class found under "
        "that name; only module classes may be restored, so it was refused without running it.")


def load_module(data, name):
    """The ``nn.Module`` instance in ``data`` (from :func:`module_bytes`)."""
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data))
    except Exception as exc:
        raise PersistenceError(f"{name!r} is not a saved module or is corrupt ({exc}).") from None
    classes = [_module_class(n) for n in names]
    try:
        with torch.serialization.safe_globals(classes):
            module = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise PersistenceError(f"{name!r} could not be read as a module; it was refused "
                               f"({type(exc).__name__}: {str(exc)[:200]}).") from None
    if isinstance(module, dict) and "hf_model" in module:  # a Hugging Face model
        try:
            return _hf.model_from_parts(module, resolve)
        except (TypeError, ValueError, KeyError, RuntimeError) as exc:
            raise PersistenceError(f"{name!r} could not be read as a Hugging Face model "
                                   f"({type(exc).__name__}: {str(exc)[:200]}).") from None
    if not isinstance(module, torch.nn.Module):
        raise PersistenceError(f"{name!r} holds a {type(module).__name__}, not an nn.Module.")
    return module
