"""Every tie to Hugging Face ``transformers``, in one leaf module.

sktune never imports ``transformers`` itself: an object is a Hugging Face
model or config only if ``transformers`` is already imported (the user made
the object with it). What sktune needs to know about them:

- GPT-2's linear layers are its own ``Conv1D`` class (LoRA adapters go on
  them as on ``nn.Linear``: :mod:`sktune.nets._lora`);
- saving without pickle (:mod:`sktune.persistence`): a model is its class's
  import path, its config as JSON and its ``state_dict``; a config is its
  class and JSON. Loading calls the class with the config (no code from the
  file runs), then loads the weights.

Models themselves need nothing special to train: their ``forward`` takes the
tokenizer's names as keywords and their ``ModelOutput`` is read by
:func:`sktune.nets._outputs.logits_of`.
"""

import json
import sys


def _transformers():
    return sys.modules.get("transformers")


def is_config(value):
    """Whether ``value`` is a ``transformers.PretrainedConfig``."""
    hf = _transformers()
    return hf is not None and isinstance(value, hf.PretrainedConfig)


def is_model(value):
    """Whether ``value`` is a ``transformers.PreTrainedModel`` instance."""
    hf = _transformers()
    return hf is not None and isinstance(value, hf.PreTrainedModel)


def is_conv1d(module):
    """Whether ``module`` is transformers' ``Conv1D`` (GPT-2's linear layers, whose
    weight is stored ``in x out``)."""
    cls = type(module)
    return cls.__name__ == "Conv1D" and (cls.__module__ or "").startswith("transformers")


def config_json(config):
    """A config as JSON text (every value, not only those differing from defaults)."""
    return config.to_json_string(use_diff=False)


def config_from_json(cls, text):
    """``cls`` (a ``PretrainedConfig`` subclass) built from :func:`config_json`'s text."""
    hf = _import()
    if not (isinstance(cls, type) and issubclass(cls, hf.PretrainedConfig)):
        raise TypeError(f"{cls!r} is not a transformers PretrainedConfig class.")
    return cls.from_dict(json.loads(text))


def model_parts(model, import_path):
    """A model as plain data: its config (class path and JSON), weights, mode;
    ``import_path`` names a class (the persistence's)."""
    return {"hf_model": import_path(type(model)),
            "hf_config": import_path(type(model.config)),
            "config": config_json(model.config),
            "state_dict": model.state_dict(),
            "training": bool(model.training)}


def model_from_parts(parts, resolve):
    """The model :func:`model_parts` described; ``resolve`` turns an import path
    into its class (the persistence's checked resolver)."""
    hf = _import()
    cls = resolve(parts["hf_model"])
    if not (isinstance(cls, type) and issubclass(cls, hf.PreTrainedModel)):
        raise TypeError(f"{parts['hf_model']!r} is not a transformers PreTrainedModel class.")
    config = config_from_json(resolve(parts["hf_config"]), parts["config"])
    model = cls(config)
    model.load_state_dict(parts["state_dict"], strict=True)
    return model.train(bool(parts["training"]))


def _import():
    try:
        import transformers
    except ImportError:  # pragma: no cover - the file names a transformers class
        raise ImportError("This file holds a Hugging Face model or config: install "
                          "transformers (pip install 'sktune[hf]') to load it.") from None
    return transformers
