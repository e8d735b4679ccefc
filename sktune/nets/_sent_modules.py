"""Pretrained module instances sent to worker processes once per search, not per task.

A search pickles its estimator into every (candidate, fold) task it sends to
a process pool: with a pretrained ``module`` of hundreds of MB, that is
hundreds of MB pickled, sent and unpickled per fit, and as many copies alive
at once as tasks are in flight. :func:`pack` pickles an object with each
``nn.Module`` instance it holds replaced by a key of a *store*, which holds
each instance once per search:

- :class:`ModuleFiles` (one machine: loky): a file per instance (in
  ``/dev/shm``, memory, where it has room; else the temporary folder), which a
  worker loads memory-mapped, so the processes of the machine share the pages
  of the weights no fit writes (a fit copies what it trains,
  :mod:`._shared_weights`); removed when the search ends;
- :class:`RayModules`: one object per instance in Ray's object store, fetched
  by each worker (of any node) once.

A worker's :func:`unpack` loads each instance once per process and keeps the
last few, so every task of a search in that process shares one.
"""

import io
import os
import pickle
import shutil
import sys
import tempfile
import threading
from collections import OrderedDict

import torch

#: Modules a worker process keeps loaded (the most recent searches' instances).
_KEEP = 2
_loaded = OrderedDict()  # key (file, Ray object id) -> module, in a worker
_loaded_lock = threading.Lock()
_TAG = "sktune-module"
_SHM = "/dev/shm"


def pickler_module():
    """cloudpickle, which pickles classes defined in ``__main__`` (a script's, a
    notebook's) by value, where plain pickle cannot; its output loads with
    ``pickle.loads``."""
    try:
        import cloudpickle
    except ImportError:  # joblib vendors it
        from joblib.externals import cloudpickle
    return cloudpickle


class ModuleFiles:
    """The files of one search's module instances (written on first use)."""

    tag = "file"
    refs = None

    def __init__(self):
        self._folder = None
        self._paths = {}  # id(module) -> (module, path); the module keeps its id unique
        self._lock = threading.Lock()

    def key_of(self, module):
        """The file ``module`` is saved in (saved on the first call)."""
        with self._lock:
            if id(module) not in self._paths:
                if self._folder is None:
                    self._folder = tempfile.mkdtemp(prefix="sktune-modules-",
                                                    dir=_folder_for(_nbytes(module)))
                    _track(self._folder, "register")
                path = os.path.join(self._folder, f"module-{len(self._paths)}.pt")
                torch.save(module, path, pickle_module=pickler_module())
                if self._folder.startswith(_SHM + os.sep):
                    _map_onto(module, path)
                self._paths[id(module)] = (module, path)
            return self._paths[id(module)][1]

    def close(self):
        """Remove the files (workers that mapped them keep their mapping)."""
        with self._lock:
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)
                _track(self._folder, "unregister")
            self._folder, self._paths = None, {}


def _track(folder, action):
    """Have loky's resource tracker remove ``folder`` if this process dies before
    :meth:`ModuleFiles.close` (killed mid-search: a model left in ``/dev/shm``
    would hold its memory until the machine restarts), as joblib does for its
    memory-mapped arrays."""
    try:
        from joblib.externals.loky.backend import resource_tracker
    except ImportError:  # pragma: no cover - joblib vendors loky
        return
    getattr(resource_tracker, action)(folder, "folder")


class RayModules:
    """One search's module instances in Ray's object store (put on first use);
    a packed object names them by their index in :attr:`refs`, which travel
    beside it (Ray hands nested references to the worker as they are)."""

    tag = "ray"

    def __init__(self):
        self.refs = []
        self._index = {}  # id(module) -> (module, index)
        self._lock = threading.Lock()

    def key_of(self, module):
        import ray

        with self._lock:
            if id(module) not in self._index:
                self.refs.append(ray.put(module))
                self._index[id(module)] = (module, len(self.refs) - 1)
            return self._index[id(module)][1]

    def close(self):
        with self._lock:
            self.refs, self._index = [], {}


def _map_onto(module, path):
    """Make ``module``'s CPU tensors views of ``path``, the file just saved from it
    (in ``/dev/shm``), mapped copy-on-write: the instance and the workers then
    hold the same pages, one copy of the weights on the machine instead of two.

    Values, ``Parameter`` objects and ``requires_grad`` flags are unchanged (the
    tensors' ``.data`` is swapped); what writes to the instance later gets
    private pages, and the file stays readable by the workers. The instance's
    former memory is freed (unless something else holds it)."""
    mapped = torch.load(path, mmap=True, weights_only=False)
    pairs = [(module.named_parameters, mapped.named_parameters),
             (module.named_buffers, mapped.named_buffers)]
    with torch.no_grad():
        for mine, theirs in pairs:
            twins = dict(theirs(remove_duplicate=False))
            for name, tensor in mine(remove_duplicate=False):
                twin = twins.get(name)
                if (tensor is None or twin is None or tensor.device.type != "cpu"
                        or twin.device.type != "cpu" or twin.dtype != tensor.dtype
                        or twin.shape != tensor.shape or tensor.is_sparse):
                    continue
                tensor.data = twin.data


def _nbytes(module):
    return sum(t.numel() * t.element_size() for t in
               [*module.parameters(), *module.buffers()])


def _folder_for(nbytes):
    """``/dev/shm`` if it has room for twice ``nbytes`` (memory shared by the
    processes), else the temporary folder (the page cache shares it too)."""
    shm = _SHM
    try:
        if os.path.isdir(shm) and shutil.disk_usage(shm).free > 2 * nbytes + (64 << 20):
            return shm
    except OSError:  # pragma: no cover
        pass
    return None


def pack(obj, store):
    """``obj`` pickled (by cloudpickle) with every ``nn.Module`` instance in it
    replaced by its key in ``store``."""
    buffer = io.BytesIO()
    _ModulePickler(buffer, store).dump(obj)
    return buffer.getvalue()


def unpack(data, refs=None):
    """What :func:`pack` pickled, the modules loaded from their store (once per
    process: the same module object for every task of a search); ``refs`` are
    a :class:`RayModules` store's."""
    return _ModuleUnpickler(io.BytesIO(data), refs).load()


class _ModulePickler(pickler_module().Pickler):
    def __init__(self, file, store):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._store = store

    def persistent_id(self, obj):
        if isinstance(obj, torch.nn.Module):
            return (_TAG, self._store.tag, self._store.key_of(obj))
        return None


class _ModuleUnpickler(pickle.Unpickler):
    def __init__(self, file, refs):
        super().__init__(file)
        self._refs = refs

    def persistent_load(self, pid):
        tag, kind, key = pid
        if tag != _TAG:  # pragma: no cover - only pack writes these
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        if kind == "ray":
            ref = self._refs[key]
            return _cached(ref.hex(), lambda: _ray_get(ref))
        # Memory-mapped: the pages of weights no fit writes stay those of the
        # file, shared by every process that maps it.
        return _cached(key, lambda: torch.load(key, mmap=True, weights_only=False))


def _ray_get(ref):
    import ray

    return ray.get(ref)


def _cached(key, load):
    with _loaded_lock:
        module = _loaded.get(key)
        if module is None:
            module = _loaded[key] = load()
            _kept_bytes(_nbytes(module))
            while len(_loaded) > _KEEP:
                _kept_bytes(-_nbytes(_loaded.popitem(last=False)[1]))
        _loaded.move_to_end(key)
        return module


def _kept_bytes(change):
    """Tell a loky worker's memory-leak guard about the modules it keeps on
    purpose: loky restarts a worker whose memory grew by more than 300 MB since
    its first task, which a kept 440 MB model would trigger after every task
    (each restart loading it again). The guard's allowance grows by what is kept."""
    executor = sys.modules.get("joblib.externals.loky.process_executor")
    if executor is not None and hasattr(executor, "_MAX_MEMORY_LEAK_SIZE"):
        executor._MAX_MEMORY_LEAK_SIZE = max(int(3e8), executor._MAX_MEMORY_LEAK_SIZE + change)


class SentOnce:
    """An object that pickles as :func:`pack` of it, computed once, and unpickles
    as the object itself (:func:`unpack`)."""

    def __init__(self, obj, store):
        self.obj, self._store = obj, store
        self._data = None
        self._lock = threading.Lock()

    def packed(self):
        """This object, packed now (a Ray store puts its modules in the object
        store, which must not happen while Ray serialises something else)."""
        with self._lock:
            if self._data is None:
                self._data = pack(self.obj, self._store)
        return self

    def __reduce__(self):
        return unpack, (self.packed()._data, self._store.refs)
