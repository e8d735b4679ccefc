"""Small tables and a small space for the command-line tests."""

import numpy as np
import pandas as pd

#: A space small enough for 2-candidate, 2-fold searches in about a second.
SMALL = "lr: {low: 3e-3, high: 3e-2, prior: log-uniform}\nhidden_layer_sizes: [[8], [16]]\n" \
        "epochs: 3\n"


def mixed_frame(seed, n=60, missing=(4, 7)):
    """Numeric, text and bool columns; a 'label' class target and a 'price' target;
    a missing number and a missing category in the rows ``missing``."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"size": rng.normal(10, 3, n),
                          "colour": rng.choice(["red", "green", "blue"], n),
                          "flag": rng.random(n) > 0.5})
    frame["label"] = np.where(frame["size"] + 3 * (frame["colour"] == "red") > 11, "yes", "no")
    frame["price"] = 2.5 * frame["size"] + rng.normal(0, 1, n)
    frame.loc[missing[0], "size"] = np.nan
    frame.loc[missing[1], "colour"] = None
    return frame
