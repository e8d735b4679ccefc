"""Large pretrained networks in a search: what is copied, what is shared, what travels.

A pretrained ``module`` instance is never deep-copied by ``clone``; a fit
copies what trains and shares the frozen weights with the instance; a process
pool receives the instance once per worker and search, not with every task;
a fit on a GPU gives its cached memory back when it ends.
"""

import os
import pickle
import weakref
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch
from joblib import parallel_config
from sklearn.base import clone
from sklearn.metrics import check_scoring
from sklearn.model_selection import KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from _large_helpers import RecordInstance, body_and_head
from sktune import BayesSearchCV, NeuralNetClassifier
from sktune.nets import _sent_modules
from sktune.nets._sent_modules import ModuleFiles, SentOnce, pack, unpack
from sktune.search._fits.scheduler import run_fit
from sktune.space import Real


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 20)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)
    return X, y


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _net(module, **params):
    return NeuralNetClassifier(**{"module": module, "freeze": "body", "epochs": 2,
                                  "lr": 1e-2, "random_state": 0, **params})


def _ptr(t):
    return t.untyped_storage().data_ptr()


# -- clone -----------------------------------------------------------------------------
def test_clone_keeps_the_instance_in_a_pipeline_and_a_search_too():
    module = body_and_head()
    pipe = make_pipeline(StandardScaler(), _net(module))
    assert clone(pipe)[-1].module is module
    search = BayesSearchCV(pipe, {"neuralnetclassifier__lr": Real(1e-3, 1e-1)}, n_iter=1)
    assert clone(search).estimator[-1].module is module


# -- a fit copies what trains ------------------------------------------------------------
def test_a_fit_shares_the_frozen_weights_and_copies_what_trains(data):
    module = body_and_head()
    before, flags = _state(module), [p.requires_grad for p in module.parameters()]
    fitted = _net(module).fit(*data).module_
    for name, p in fitted.body.named_parameters():
        assert _ptr(p) == _ptr(module.get_parameter(f"body.{name}")), name
        assert not p.requires_grad
    bn, own_bn = module.body[1], fitted.body[1]
    assert _ptr(own_bn.running_mean) == _ptr(bn.running_mean)  # a frozen norm: eval mode
    assert _ptr(fitted.head.weight) != _ptr(module.head.weight)
    assert not torch.equal(fitted.head.weight, module.head.weight)  # the head trained
    # the instance is as it was: values, and its own requires_grad flags
    assert _same(_state(module), before)
    assert [p.requires_grad for p in module.parameters()] == flags


def test_every_fit_of_a_search_shares_one_copy_of_the_frozen_body(data):
    module = body_and_head()
    fits = cross_validate(_net(module), *data, cv=3, return_estimator=True)["estimator"]
    pointers = {_ptr(e.module_.body[0].weight) for e in fits}
    assert pointers == {_ptr(module.body[0].weight)}
    assert len({_ptr(e.module_.head.weight) for e in fits}) == 3


def test_unfreezing_copies_the_shared_weights_before_they_train(data):
    module = body_and_head()
    before = _state(module)
    fitted = _net(module, unfreeze_at=1, epochs=3).fit(*data).module_
    assert _same(_state(module), before)  # neither weights nor BatchNorm statistics moved
    assert _ptr(fitted.body[0].weight) != _ptr(module.body[0].weight)
    assert not torch.equal(fitted.body[0].weight, module.body[0].weight)  # it trained after
    assert not torch.equal(fitted.body[1].running_mean, module.body[1].running_mean)
    assert fitted.body[0].weight.requires_grad


def test_sharing_changes_no_result(data):
    """A fit from the instance equals a fit from an independent copy of it, and a
    fully fine-tuned one (nothing frozen, nothing shared) too."""
    module = body_and_head()
    for freeze in ("body", None):
        a = _net(module, freeze=freeze).fit(*data)
        b = _net(pickle.loads(pickle.dumps(module)), freeze=freeze).fit(*data)
        np.testing.assert_array_equal(a.predict_proba(data[0]), b.predict_proba(data[0]))
    assert _ptr(a.module_.body[0].weight) != _ptr(module.body[0].weight)  # freeze=None


# -- the instance travels once ----------------------------------------------------------
def test_a_packed_estimator_carries_the_module_by_name_and_loads_it_once(tmp_path):
    module = body_and_head(width=512)  # ~1.1 MB of weights
    files = ModuleFiles()
    try:
        data = pack(_net(module), files)
        assert len(data) < 20_000
        first, second = unpack(data), unpack(data)
        assert first.module is second.module  # loaded once in this process
        assert _same(_state(first.module), _state(module))
        folder = Path(files.key_of(module)).parent
        assert pickle.loads(pickle.dumps(SentOnce(_net(module), files))).module is first.module
    finally:
        files.close()
        _sent_modules._loaded.clear()
    assert not folder.exists()


def _mapped_files(tensor):
    """The files whose mapping holds ``tensor``'s first byte, per /proc/self/maps."""
    address = tensor.data_ptr()
    found = []
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        start, end = (int(x, 16) for x in fields[0].split("-"))
        if start <= address < end and len(fields) == 6:
            found.append(fields[5])
    return found


@pytest.mark.skipif(not Path("/proc/self/maps").exists() or not Path("/dev/shm").is_dir(),
                    reason="needs Linux's /proc and /dev/shm")
def test_the_instance_maps_its_shared_memory_file_the_workers_map_too():
    """Saved to /dev/shm, the instance's weights become views of that file (one copy
    of them on the machine, not the instance's and the file's): same Parameter
    objects, same values and flags, and what writes to the instance afterwards
    leaves the file alone."""
    module = body_and_head(width=512)
    module.body[0].weight.requires_grad_(False)
    before = _state(module)
    params = dict(module.named_parameters())
    files = ModuleFiles()
    try:
        path = files.key_of(module)
        assert path.startswith("/dev/shm/")
        for name, p in module.named_parameters():
            assert p is params[name]
            assert any(path in f for f in _mapped_files(p)), name
        assert any(path in f for f in _mapped_files(module.body[1].running_mean))
        assert _same(_state(module), before)
        assert not module.body[0].weight.requires_grad and module.head.weight.requires_grad
        with torch.no_grad():
            module.head.weight.add_(1.0)  # copy-on-write: the file keeps the saved values
        saved = torch.load(path, weights_only=False)
        assert torch.equal(saved.head.weight, before["head.weight"])
    finally:
        files.close()
        _sent_modules._loaded.clear()
    assert torch.equal(module.head.weight, before["head.weight"] + 1.0)  # still readable


def test_an_instance_saved_outside_shared_memory_keeps_its_own(tmp_path, monkeypatch):
    monkeypatch.setattr(_sent_modules, "_folder_for", lambda nbytes: str(tmp_path))
    module = body_and_head(width=512)
    pointers = [_ptr(p) for p in module.parameters()]
    files = ModuleFiles()
    try:
        files.key_of(module)
        assert [_ptr(p) for p in module.parameters()] == pointers
    finally:
        files.close()


def test_a_loky_task_carries_no_weights(data):
    """Every argument of a task that holds the estimator (the estimator, sklearn's
    default scorer, which keeps it) names the instance instead of pickling it."""
    import cloudpickle

    from sktune.search._fits.pool import LokyPool

    module = body_and_head(width=512)  # ~1.1 MB of weights
    est = _net(module)
    pool = LokyPool(1, 2, local_lane=True)  # no executor started
    try:
        shared = pool.put((est, *data, {"scorer": check_scoring(est), "caller": None,
                                        "fit_params": {}}))
        assert len(cloudpickle.dumps(shared)) < 100_000 + data[0].nbytes
        restored_est, _, _, kwargs = pickle.loads(cloudpickle.dumps(shared))
        assert restored_est.module is kwargs["scorer"]._estimator.module  # loaded once
    finally:
        pool.close()
        _sent_modules._loaded.clear()


def test_a_loky_worker_receives_the_instance_once_per_search(data, tmp_path):
    module = body_and_head()
    log = tmp_path / "fits"
    log.mkdir()
    est = _net(module, callbacks=[RecordInstance(str(log), os.getpid())])
    cv = KFold(3, shuffle=True, random_state=0)
    with parallel_config(backend="loky"):
        cross_validate(_net(module), *data, cv=2, n_jobs=2)  # warm workers: no cold start
        search = BayesSearchCV(est, {"lr": Real(1e-3, 1e-1, prior="log-uniform")}, n_iter=4,
                               cv=cv, n_jobs=2, random_state=0, refit=False).fit(*data)
    records = [p.name.split("-") for p in log.iterdir()]
    assert len(records) == 12  # every fit ran in a worker
    instances = {}
    for pid, token, _ in records:
        instances.setdefault(pid, set()).add(token)
    assert all(len(tokens) == 1 for tokens in instances.values()), instances
    alone = BayesSearchCV(_net(module), {"lr": Real(1e-3, 1e-1, prior="log-uniform")},
                          n_iter=4, cv=cv, n_jobs=1, random_state=0, refit=False).fit(*data)
    np.testing.assert_array_equal(search.cv_results_["mean_test_score"],
                                  alone.cv_results_["mean_test_score"])


# -- GPU memory ---------------------------------------------------------------------------
_FITTED = []  # weak references to the fitted modules (a callback's copies share it)


class _KeepWeakref(Callback):
    def on_train_end(self, net, **kwargs):
        _FITTED.append(weakref.ref(net.module_))


def test_a_fit_in_a_worker_gives_its_device_memory_back(data):
    """With a (faked) GPU in use, every fit's tensors are released and torch's
    cache emptied before the next fit starts."""
    emptied = []
    _FITTED.clear()

    def empty_cache():  # what the fake device sees: are the fit's tensors gone?
        emptied.append(all(r() is None for r in _FITTED))

    X, y = data
    est = _net(body_and_head(), callbacks=[_KeepWeakref()])
    kwargs = dict(scorer=check_scoring(est), fit_params=None, score_params=None,
                  return_train_score=False, return_n_test_samples=True, return_times=True,
                  return_parameters=False, error_score=np.nan, verbose=0)
    train, test = np.arange(160), np.arange(160, 240)
    with mock.patch.object(torch.cuda, "is_available", lambda: True), \
            mock.patch.object(torch.cuda, "is_initialized", lambda: True), \
            mock.patch.object(torch.cuda, "empty_cache", empty_cache):
        for lr in (1e-2, 1e-3):
            run_fit((est, X, y, kwargs), (train, test, {"lr": lr}, None, None, None, None))
    assert len(_FITTED) == 2 and emptied == [True, True]


def test_a_kept_module_is_no_leak_to_lokys_guard():
    """loky restarts a worker whose memory grew by 300 MB since its first task; the
    modules a worker keeps on purpose raise that allowance (a 440 MB model would
    otherwise restart the worker, and load it again, after every task)."""
    from joblib.externals.loky import process_executor

    before = process_executor._MAX_MEMORY_LEAK_SIZE
    module = body_and_head(width=512)
    files = ModuleFiles()
    try:
        unpack(pack(module, files))
        assert process_executor._MAX_MEMORY_LEAK_SIZE == before + _sent_modules._nbytes(module)
        for width in (8, 16):  # two more: the first is dropped (two are kept)
            unpack(pack(body_and_head(width=width), files))
        kept = sum(_sent_modules._nbytes(m) for m in _sent_modules._loaded.values())
        assert process_executor._MAX_MEMORY_LEAK_SIZE == before + kept
    finally:
        files.close()
        _sent_modules._loaded.clear()
        process_executor._MAX_MEMORY_LEAK_SIZE = before


def test_the_module_files_of_a_killed_search_are_removed(tmp_path):
    """A search process killed mid-search (kill -9) leaves no model in /dev/shm:
    loky's resource tracker removes the folder."""
    import subprocess
    import sys
    import time

    code = (
        "import os, sys, time\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from _large_helpers import body_and_head\n"
        "from sktune.nets._sent_modules import ModuleFiles\n"
        "files = ModuleFiles()\n"
        "print(files.key_of(body_and_head()), flush=True)\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        path = Path(process.stdout.readline().strip())
        assert path.exists()
    finally:
        process.kill()
        process.wait()
    deadline = time.monotonic() + 30
    while path.parent.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not path.parent.exists()


def test_a_large_module_predicts_in_batches_sized_to_its_work():
    """Prediction batches: 4096 rows for small modules; for large ones, rows x
    parameters capped at 2**34 (never below the training batch size), so that
    a wide network's activations stay small."""
    from sktune.nets._training import _predict_batch_size

    small = torch.nn.Linear(20, 3)
    large = torch.nn.Sequential(torch.nn.Linear(4096, 2048), torch.nn.ReLU(),
                                torch.nn.Linear(2048, 2))  # 8.4M parameters
    n_params = sum(p.numel() for p in large.parameters())
    assert _predict_batch_size(64, small) == 4096
    assert _predict_batch_size(64, large) == 2 ** 34 // n_params == 2046
    assert _predict_batch_size(5000, large) == 5000
    rows = []
    large.register_forward_hook(lambda m, args, out: rows.append(len(args[0])))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4500, 4096)).astype(np.float32)
    net = NeuralNetClassifier(module=large, freeze=None, epochs=1, batch_size=500,
                              random_state=0).fit(X[:500], np.arange(500) % 2)
    rows.clear()
    proba = net.predict_proba(X)
    assert rows == [1500, 1500, 1500] and proba.shape == (4500, 2)  # ceil(4500 / 2046) even batches
