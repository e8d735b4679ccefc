"""Pretrained module instances sent to worker processes once per search, not per task.

A search pickles its estimator into every (candidate, fold) task it sends to
a process pool: with a pretrained ``module`` of hundreds of MB, that is
hundreds of MB pickled, sent and unpickled per fit, and as many copies alive
at once as tasks are in flight. :class:`ModuleFiles` writes each instance once
per search to a file (in ``/dev/shm``, memory, where it has room; else the
temporary folder); :func:`pack` pickles an object with each ``nn.Module``
instance it holds replaced by its file's name. A worker's :func:`unpack`
loads each file once per process, memory-mapped, and keeps the last few: the
processes of one machine share the pages of the weights no fit writes (a
fit copies what it trains, :mod:`._shared_weights`).

The files are removed when the search ends (:meth:`ModuleFiles.close`); a
worker's mapping of a removed file stays valid until it drops the module.
"""

import io
import os
import pickle
import shutil
import tempfile
import threading
from collections import OrderedDict

import torch

#: Modules a worker process keeps loaded (the most recent searches' instances).
_KEEP = 2
_loaded = OrderedDict()  # file -> module, in a worker
_loaded_lock = threading.Lock()
_TAG = "sktune-module"


def _pickler_module():
    try:  # pickles classes defined in __main__ (a script's, a notebook's) by value
        import cloudpickle
        return cloudpickle
    except ImportError:  # pragma: no cover - joblib depends on cloudpickle
        return pickle


class ModuleFiles:
    """The files of one search's module instances (written on first use)."""

    def __init__(self):
        self._folder = None
        self._paths = {}  # id(module) -> (module, path); the module keeps its id unique
        self._lock = threading.Lock()

    def path_of(self, module):
        """The file ``module`` is saved in (saved on the first call)."""
        with self._lock:
            if id(module) not in self._paths:
                if self._folder is None:
                    self._folder = tempfile.mkdtemp(prefix="sktune-modules-",
                                                    dir=_folder_for(_nbytes(module)))
                path = os.path.join(self._folder, f"module-{len(self._paths)}.pt")
                torch.save(module, path, pickle_module=_pickler_module())
                self._paths[id(module)] = (module, path)
            return self._paths[id(module)][1]

    def close(self):
        """Remove the files (workers that mapped them keep their mapping)."""
        with self._lock:
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)
            self._folder, self._paths = None, {}


def _nbytes(module):
    return sum(t.numel() * t.element_size() for t in
               [*module.parameters(), *module.buffers()])


def _folder_for(nbytes):
    """``/dev/shm`` if it has room for twice ``nbytes`` (memory shared by the
    processes), else the temporary folder (the page cache shares it too)."""
    shm = "/dev/shm"
    try:
        if os.path.isdir(shm) and shutil.disk_usage(shm).free > 2 * nbytes + (64 << 20):
            return shm
    except OSError:  # pragma: no cover
        pass
    return None


def pack(obj, files):
    """``obj`` pickled (by cloudpickle) with every ``nn.Module`` instance in it
    replaced by the name of its file in ``files``."""
    buffer = io.BytesIO()
    _ModulePickler(buffer, files).dump(obj)
    return buffer.getvalue()


def unpack(data):
    """What :func:`pack` pickled, the modules loaded from their files (once per
    process: the same module object for every task of a search)."""
    return _ModuleUnpickler(io.BytesIO(data)).load()


class _ModulePickler(_pickler_module().Pickler):
    def __init__(self, file, files):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._files = files

    def persistent_id(self, obj):
        if isinstance(obj, torch.nn.Module):
            return (_TAG, self._files.path_of(obj))
        return None


class _ModuleUnpickler(pickle.Unpickler):
    def persistent_load(self, pid):
        tag, path = pid
        if tag != _TAG:  # pragma: no cover - only pack writes these
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        return _load(path)


def _load(path):
    with _loaded_lock:
        module = _loaded.get(path)
        if module is None:
            # Memory-mapped: the pages of weights no fit writes stay those of the
            # file, shared by every process that maps it.
            module = torch.load(path, mmap=True, weights_only=False)
            _loaded[path] = module
            while len(_loaded) > _KEEP:
                _loaded.popitem(last=False)
        _loaded.move_to_end(path)
        return module


class SentOnce:
    """An object that pickles as :func:`pack` of it, computed once, and unpickles
    as the object itself (:func:`unpack`)."""

    def __init__(self, obj, files):
        self.obj, self._files = obj, files
        self._data = None
        self._lock = threading.Lock()

    def __reduce__(self):
        with self._lock:
            if self._data is None:
                self._data = pack(self.obj, self._files)
        return unpack, (self._data,)
