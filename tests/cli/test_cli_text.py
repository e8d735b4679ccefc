"""``sktune tune --text-column``: a text classifier from a CSV, then ``sktune predict``."""

import json

import numpy as np
import pandas as pd
import pytest

from sktune.cli import main
from sktune.persistence import load

WORDS = ["good", "bad", "movie", "plot", "not", "very", "the", "a", "actor", "film", "was"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text")
    rng = np.random.RandomState(0)
    texts = [" ".join(rng.choice(WORDS, rng.randint(4, 10))) for _ in range(120)]
    texts[3] = None  # a missing text reads as ''
    label = ["pos" if t and "good" in t and "not good" not in t else "neg" for t in texts]
    pd.DataFrame({"review": texts, "stars": rng.randint(1, 6, 120), "label": label}).to_csv(
        folder / "reviews.csv", index=False)
    (folder / "tiny.yaml").write_text(
        "lr: {low: 1.0e-3, high: 1.0e-2, prior: log-uniform}\nepochs: 3\n"
        "module__d_model: 16\nmodule__nhead: 2\nlr_schedule__warmup: [0.0, 0.1]\n")
    (folder / "tiny_rnn.yaml").write_text("lr: [0.003, 0.01]\nepochs: 3\nmodule__hidden_size: 16\n")
    return folder


@pytest.mark.parametrize("model, space", [(None, "tiny.yaml"), ("rnn", "tiny_rnn.yaml")])
def test_a_text_column_is_tuned_saved_and_predicted(folder, tmp_path, capsys, model, space):
    saved = tmp_path / "text.sktune"
    args = ["tune", "--data", str(folder / "reviews.csv"), "--target", "label",
            "--text-column", "review", "--space", str(folder / space), "--n-iter", "2",
            "--cv", "2", "--max-length", "12", "--vocab-size", "40", "--save", str(saved),
            "--json"]
    if model:
        args += ["--model", model]
    assert main(args) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert "other feature column(s) ['stars'] are not used" in captured.err
    assert summary["n_features"] == 1 and 0 <= summary["test_score"] <= 1
    pipe = load(saved).best_estimator_
    tokenizer, net = pipe.named_steps["tokenizer"], pipe.named_steps["net"]
    assert (tokenizer.vocab_size, tokenizer.max_length) == (40, 12)
    assert net.module.__name__ == ("RNN" if model == "rnn" else "Transformer")
    assert net.get_params()["module__vocab_size"] == 40
    assert 2 <= min(tokenizer.vocabulary_.values()) and max(tokenizer.vocabulary_.values()) < 40

    out = tmp_path / "pred.csv"
    assert main(["predict", str(saved), str(folder / "reviews.csv"), "-o", str(out), "-q"]) == 0
    predictions = pd.read_csv(out)
    assert len(predictions) == 120 and set(predictions.iloc[:, -1]) <= {"pos", "neg"}


@pytest.mark.parametrize("extra, message", [
    (["--text-column", "review", "--model", "mlp"], "--text-column reads text"),
    (["--model", "rnn"], "--model rnn reads text: name the column with --text-column"),
    (["--text-column", "stars"], "holds int64 values, not text"),
    (["--text-column", "title"], "'title' is not a feature column"),
])
def test_text_errors(folder, capsys, extra, message):
    code = main(["tune", "--data", str(folder / "reviews.csv"), "--target", "label", *extra])
    assert code != 0
    assert message in capsys.readouterr().err
