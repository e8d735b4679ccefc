"""Runs scikit-learn's and sktune's parallel work in one fresh process, in the
order given on the command line, and prints each sktune search's results as
one JSON line (``tests/test_parallel_sequences.py`` compares them with a run
of the search alone in another fresh process).

Usage: ``python _sequence_script.py STEP [STEP ...]`` with STEP one of
``SKLEARN_WORK`` or ``SKTUNE_SEARCHES`` of :mod:`_sequence_helpers`.
"""

import json
import sys

from _sequence_helpers import SKLEARN_WORK, SKTUNE_SEARCHES, large_data, process_state, results

if __name__ == "__main__":
    X, y = large_data()
    before = process_state()
    for step in sys.argv[1:]:
        if step in SKLEARN_WORK:
            SKLEARN_WORK[step](X, y)
            continue
        search = SKTUNE_SEARCHES[step]().fit(X, y)
        params, scores = results(search)
        print(json.dumps({"step": step, "params": params, "scores": scores,
                          "state_unchanged": process_state() == before}))
