"""Crash-safe, resumable searches: ``BayesSearchCV(checkpoint=path)``.

The checkpoint is an SQLite database (standard library; WAL journal,
``synchronous=FULL``), written in one transaction per finished round: a
round is either entirely in the file or not at all, whatever kills the
process (``kill -9``, Ctrl-C, power loss after the commit returned). Each
round stores the candidates' parameters (JSON, encoded as in
:mod:`sktune.persistence._codec`) and the raw per-split results of sklearn's
``_fit_and_score`` (scores, times, error text), so a resumed search formats
exactly the ``cv_results_`` the uninterrupted run would have, timings of the
stored rounds included.

Resuming replays the stored rounds in order: the optimiser is asked for the
round's candidates as in the original run (its random seeds are stored too,
so ``random_state=None`` resumes as well), they must equal the stored ones,
and their stored results go through sklearn's own ``evaluate_candidates``
without fitting anything: the parameters are passed as a
:class:`~sktune.search._fits.task_hook.KnownResults` dict, which the
``_fit_and_score`` hook answers from the checkpoint.
The first round that is not stored is evaluated normally, and the search
goes on.

A fingerprint of the search (estimator parameters, search space, scoring,
``n_points``, ``error_score``, ``return_train_score``, optimiser options)
is checked when the search starts, and one of the data (``X``, ``y``) and of
the cross-validation folds when they are first split: a checkpoint written
by another search raises :class:`~sktune.exceptions.CheckpointMismatchError`
before anything is evaluated.
"""

import json
import os
import shutil
import sqlite3
from contextlib import contextmanager

import joblib
import torch

from ...persistence._codec import decode, encode
from ...exceptions import CheckpointMismatchError, PersistenceError
from ...nets._fit_state import FitStates
from .task_hook import KnownResults, install

CHECKPOINT_VERSION = 1


def _describe(obj):
    """A picklable, state-free description of ``obj`` for hashing: estimators by
    class and parameters (recursively), torch modules by class and weights,
    anything else as is."""
    if isinstance(obj, torch.nn.Module):
        return (f"{type(obj).__module__}.{type(obj).__qualname__}",
                {k: v.detach().cpu().numpy() for k, v in obj.state_dict().items()})
    if hasattr(obj, "get_params") and not isinstance(obj, type):
        return (f"{type(obj).__module__}.{type(obj).__qualname__}",
                {k: _describe(v) for k, v in sorted(obj.get_params(deep=False).items())})
    if isinstance(obj, dict):
        return {k: _describe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_describe(v) for v in obj)
    return obj


def fingerprint(obj):
    """A hash of ``obj`` (estimators by class and parameters) for checkpoint checks."""
    try:
        return joblib.hash(_describe(obj))
    except Exception:  # unpicklable: fall back on the text
        return joblib.hash(repr(obj))


def candidate_key(params):
    """JSON text identifying a candidate (values without a JSON form by repr)."""
    encoded = {}
    for name, value in params.items():
        try:
            encoded[name] = encode(value, name)
        except PersistenceError:
            encoded[name] = {"repr": repr(value)}
    return json.dumps(encoded, sort_keys=True, allow_nan=False)


def _search_fingerprint(search):
    return {
        "estimator": fingerprint(search.estimator),
        "search_spaces": fingerprint(search.search_spaces),
        "scoring": fingerprint(search.scoring),
        "error_score": repr(search.error_score),
        "return_train_score": bool(search.return_train_score),
        **search._checkpoint_settings(),
        "search_class": f"{type(search).__module__}.{type(search).__qualname__}",
    }


class CheckpointSession:
    """One ``fit`` of a search with ``checkpoint=path``: replays, then records."""

    def __init__(self, search, path, fit_params=None):
        self.search = search
        self.path = os.fspath(path)
        self._fit_params = fit_params or {}
        self._db = sqlite3.connect(self.path, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        with self._db:
            self._db.execute("CREATE TABLE IF NOT EXISTS meta "
                             "(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._db.execute("CREATE TABLE IF NOT EXISTS rounds (round INTEGER PRIMARY KEY, "
                             "candidates TEXT NOT NULL, outcomes TEXT NOT NULL)")
        self._check_version()
        self._match("search", _search_fingerprint(search))
        self._rounds = {
            i: (json.loads(c), json.loads(o))
            for i, c, o in self._db.execute("SELECT round, candidates, outcomes FROM rounds")
        }
        self._next_round = 0
        self._last_out = None
        self.n_replayed = 0

    def close(self):
        self._db.close()

    # -- the running fits' states (checkpoint_every) ----------------------------------
    @property
    def states_folder(self):
        """Where the running fits save their training state: ``<checkpoint>.fits``."""
        return self.path + ".fits"

    def fit_states(self, every):
        """The :class:`~sktune.nets._fit_state.FitStates` of this search's fits;
        the folder is checked against this search first (a folder left by
        another search raises, as a checkpoint of another search does)."""
        folder = self.states_folder
        os.makedirs(folder, exist_ok=True)
        owner = os.path.join(folder, "search.json")
        expected = _search_fingerprint(self.search)
        if os.path.exists(owner):
            with open(owner) as f:
                stored = json.load(f)
            if stored != expected:
                differs = sorted(k for k in set(stored) | set(expected)
                                 if stored.get(k) != expected.get(k))
                raise CheckpointMismatchError(
                    f"The fit states in {folder!r} were saved by a different search "
                    f"({', '.join(differs)} differ(s)). Delete that folder (it only holds "
                    "the states of fits that were running when a search was killed) or "
                    "use a new checkpoint path.")
        else:
            with open(owner, "w") as f:
                json.dump(expected, f)
        return FitStates(folder, every)

    def search_done(self):
        """Every fit has ended: the running fits' states are not needed any more."""
        shutil.rmtree(self.states_folder, ignore_errors=True)

    # -- metadata ----------------------------------------------------------------
    def _get(self, key):
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def _put(self, key, value):
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def _check_version(self):
        version = self._get("version")
        if version is None:
            self._put("version", CHECKPOINT_VERSION)
        elif not isinstance(version, int) or version > CHECKPOINT_VERSION:
            raise CheckpointMismatchError(
                f"Checkpoint {self.path!r} has format version {version!r}; this sktune reads "
                f"versions up to {CHECKPOINT_VERSION}. Upgrade sktune or use a new path."
            )

    def _match(self, key, expected):
        stored = self._get(key)
        if stored is None:
            self._put(key, expected)
            return
        differs = sorted(k for k in set(stored) | set(expected)
                         if stored.get(k) != expected.get(k))
        if differs:
            raise CheckpointMismatchError(
                f"Checkpoint {self.path!r} was written by a different search: "
                f"{', '.join(differs)} differ(s). Resume only with the same estimator, "
                "search space, data and cross-validation folds (a shuffling splitter needs "
                "an integer random_state); otherwise use a new checkpoint path or delete "
                "the file."
            )

    # -- hooks called by BayesSearchCV ---------------------------------------------
    def seeds(self, drawn):
        """The optimisers' seeds of the original run (``drawn`` on the first run)."""
        stored = self._get("seeds")
        if stored is None:
            self._put("seeds", [int(s) for s in drawn])
            return drawn
        return stored

    def check_data(self, X, y, splits):
        """Called once with the data and folds, before anything is evaluated.

        Fit parameters (``sample_weight``...) count as data; a search without
        them records none, as checkpoints written before they were checked.
        """
        data = {
            "X": joblib.hash(X), "y": joblib.hash(y),
            "cv": joblib.hash([(list(map(int, tr)), list(map(int, te))) for tr, te in splits]),
        }
        if self._fit_params:
            data["fit_params"] = joblib.hash(self._fit_params)
        self._match("data", data)

    def plain(self, candidate_params, out):
        """Called by ``_format_results``: keep ``out``, give plain parameter dicts."""
        self._last_out = out
        return [dict(p) if isinstance(p, KnownResults) else p for p in candidate_params]

    def wrap(self, evaluate_candidates):
        """``evaluate_candidates`` that replays stored rounds and records new ones."""
        install()

        def evaluate(candidates, **kwargs):
            index = self._next_round
            self._next_round += 1
            replayed = self.known(index, candidates)
            if replayed is not None:
                self.n_replayed += len(candidates)
                return evaluate_candidates(replayed, **kwargs)
            results = evaluate_candidates(candidates, **kwargs)
            new = self._last_out[-len(candidates) * self.search.n_splits_:]
            self._record(index, candidates, new)
            return results

        return evaluate

    def _mismatch(self, index, asked, held):
        return CheckpointMismatchError(
            f"Checkpoint {self.path!r}, round {index + 1}: the optimiser proposed "
            f"{asked} but the checkpoint holds {held}. The search (space, "
            "random_state, optimizer_kwargs or the sktune version) changed; "
            "use a new checkpoint path or delete the file."
        )

    def known(self, index, candidates):
        """The candidates of round ``index`` as :class:`KnownResults` if the
        checkpoint holds that round, else None; raises if it holds other candidates."""
        stored = self._rounds.get(index)
        if stored is None:
            return None
        keys, _ = stored
        asked = [candidate_key(c) for c in candidates]
        if asked != keys:
            raise self._mismatch(index, asked, keys)
        return [self.known_candidate(index, i, c) for i, c in enumerate(candidates)]

    def known_candidate(self, index, position, candidate):
        """The candidate at ``position`` of round ``index`` as :class:`KnownResults`
        if the checkpoint holds that round, else None; raises if it holds another.

        A scheduled search asks as it proposes each candidate, so a resumed
        search fits nothing that is stored.
        """
        stored = self._rounds.get(index)
        if stored is None:
            return None
        keys, outcomes = stored
        asked = candidate_key(candidate)
        if position >= len(keys) or asked != keys[position]:
            raise self._mismatch(index, asked,
                                 keys[position] if position < len(keys) else "nothing")
        n_splits = len(outcomes) // len(keys)
        return KnownResults(dict(candidate), [decode(o) for o in
                                              outcomes[position * n_splits:
                                                       (position + 1) * n_splits]])

    def known_in_round(self, index, candidate):
        """``candidate`` as :class:`KnownResults` if round ``index`` is stored (it
        must then be one of its candidates), else None. For searches that start a
        round's candidates in an order of their own (Hyperband's promotions)."""
        stored = self._rounds.get(index)
        if stored is None:
            return None
        keys, _ = stored
        asked = candidate_key(candidate)
        if asked not in keys:
            raise self._mismatch(index, asked, f"only {keys}")
        return self.known_candidate(index, keys.index(asked), candidate)

    def _record(self, index, candidates, out):
        keys = json.dumps([candidate_key(c) for c in candidates])
        outcomes = json.dumps([encode(dict(o), "result") for o in out], allow_nan=False)
        with self._db:  # one transaction per round
            self._db.execute("INSERT INTO rounds VALUES (?, ?, ?)", (index, keys, outcomes))


@contextmanager
def checkpoint_session(search, fit_params=None):
    """A :class:`CheckpointSession` for ``search.checkpoint``, or None without one."""
    if search.checkpoint is None:
        yield None
        return
    search._validate_params()  # a bad `checkpoint` gets sklearn's error before opening
    session = CheckpointSession(search, search.checkpoint, fit_params)
    try:
        yield session
    finally:
        session.close()
