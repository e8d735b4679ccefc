"""Helpers of the large-network tests, in a module that worker processes can import.

- ``body_and_head()``: a small pretrained-style network with a ``body`` (with a
  BatchNorm) and a ``head``.
- ``RecordInstance``: a skorch callback that leaves, for every fit run in a
  worker process, a file naming the process and the pretrained instance object
  the fit started from (a token set on the object the first time a fit in that
  process sees it).
"""

import os
import uuid
from pathlib import Path

import torch
from skorch.callbacks import Callback
from torch import nn


def body_and_head(n_features=20, width=64, n_outputs=3, seed=0):
    torch.manual_seed(seed)
    net = nn.Module()
    net.body = nn.Sequential(nn.Linear(n_features, width), nn.BatchNorm1d(width), nn.ReLU(),
                             nn.Linear(width, width), nn.ReLU())
    net.head = nn.Linear(width, n_outputs)
    return _BodyAndHead(net)


class _BodyAndHead(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.body, self.head = net.body, net.head

    def forward(self, X):
        return self.head(self.body(X))


class RecordInstance(Callback):
    def __init__(self, folder, parent_pid):
        self.folder = folder
        self.parent_pid = parent_pid

    def on_train_begin(self, net, **kwargs):
        if os.getpid() == self.parent_pid:
            return
        token = net.module.__dict__.setdefault("_test_token", uuid.uuid4().hex)
        (Path(self.folder) / f"{os.getpid()}-{token}-{uuid.uuid4().hex}").touch()
