"""``sktune predict`` (and ``sktune report``) on models saved by ``sktune tune --save``."""

import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from sktune.cli import main
from sktune.persistence import load

from _cli_helpers import SMALL, mixed_frame

@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Models tuned on a 60-row CSV: a classifier and a regressor."""
    folder = tmp_path_factory.mktemp("predict")
    frame = mixed_frame(seed=1, missing=(2, 5)).drop(columns="price")
    frame.to_csv(folder / "train.csv", index=False)
    reg = frame.drop(columns="label").assign(price=2 * frame["size"].fillna(10) + 1)
    reg.to_csv(folder / "reg.csv", index=False)
    (folder / "small.yaml").write_text(SMALL)
    common = ["--space", str(folder / "small.yaml"), "--n-iter", "2", "--cv", "2", "--quiet"]
    assert main(["tune", "--data", str(folder / "train.csv"), "--target", "label",
                 "--save", str(folder / "clf.sktune"), *common]) == 0
    assert main(["tune", "--data", str(folder / "reg.csv"), "--target", "price",
                 "--save", str(folder / "reg.sktune"), *common]) == 0
    new = frame.drop(columns="label").head(10).copy()
    new.loc[0, "colour"] = "purple"  # a category never seen in training
    new.to_csv(folder / "new.csv", index=False)
    return folder


def _features(folder):
    return pd.read_csv(folder / "new.csv")


def test_predictions_match_the_saved_model(saved, tmp_path, capsys):
    out = tmp_path / "pred.csv"
    assert main(["predict", str(saved / "clf.sktune"), str(saved / "new.csv"), "-o",
                 str(out)]) == 0
    assert capsys.readouterr().out == f"wrote 10 predictions to {out}\n"
    written = pd.read_csv(out)
    model = load(saved / "clf.sktune")
    assert list(written.columns) == ["prediction"]
    assert written["prediction"].tolist() == model.predict(_features(saved)).tolist()


def test_proba_columns(saved, tmp_path, capsys):
    out = tmp_path / "pred.parquet"
    assert main(["predict", str(saved / "clf.sktune"), str(saved / "new.csv"), "-o", str(out),
                 "--proba", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
    written = pd.read_parquet(out)
    assert list(written.columns) == ["prediction", "proba_no", "proba_yes"]
    proba = load(saved / "clf.sktune").predict_proba(_features(saved))
    np.testing.assert_array_equal(written[["proba_no", "proba_yes"]].to_numpy(), proba)
    np.testing.assert_allclose(proba.sum(axis=1), 1)


def test_data_with_the_target_prints_the_score(saved, tmp_path, capsys):
    out = tmp_path / "pred.csv"
    assert main(["predict", str(saved / "clf.sktune"), str(saved / "train.csv"), "-o",
                 str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"wrote 60 predictions to {out}"
    assert lines[1].startswith(f"accuracy on {saved / 'train.csv'}: ")
    assert len(pd.read_csv(out)) == 60


def test_regressor_to_stdout(saved, capsys):
    assert main(["predict", str(saved / "reg.sktune"), str(saved / "new.csv")]) == 0
    out = capsys.readouterr().out
    values = pd.read_csv(pd.io.common.StringIO(out))["prediction"].to_numpy()
    expected = load(saved / "reg.sktune").predict(_features(saved))
    np.testing.assert_allclose(values, expected, rtol=1e-12)


def test_report_reads_a_saved_model_without_pickle(saved, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", str(saved / "clf.sktune"), "-o", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out}\n"
    assert "Pipeline(ColumnTransformer → NeuralNetClassifier)" in out.read_text(encoding="utf-8")


def test_bundled_dataset_model(tmp_path, capsys):
    model = tmp_path / "iris.sktune"
    space = tmp_path / "s.yaml"
    space.write_text("lr: [0.01]\nhidden_layer_sizes: [[8]]\nepochs: 3\n")
    assert main(["tune", "--data", "iris", "--space", str(space), "--n-iter", "1", "--cv", "2",
                 "--save", str(model), "--json"]) == 0
    test_score = json.loads(capsys.readouterr().out)["test_score"]
    assert 0 <= test_score <= 1
    assert main(["predict", str(model), "iris", "-o", str(tmp_path / "p.csv"), "--proba"]) == 0
    written = pd.read_csv(tmp_path / "p.csv")
    assert written.shape == (150, 4)
    assert set(written["prediction"]) <= {"setosa", "versicolor", "virginica"}


def _craft(path, target):
    """Copy a saved model with its first preprocessing step replaced by ``target``."""
    with zipfile.ZipFile(path) as src:
        members = {n: src.read(n) for n in src.namelist()}
    name = "best_estimator/pipeline.json"
    document = json.loads(members[name])
    document["steps"][0][1] = {"$sktune": "fitted", "class": target, "params": {},
                               "state": {}}
    members[name] = json.dumps(document).encode()
    crafted = path.parent / "crafted.sktune"
    with zipfile.ZipFile(crafted, "w") as dst:
        for n, d in members.items():
            dst.writestr(n, d)
    return crafted


@pytest.mark.parametrize("args, message", [
    (["{d}/missing.sktune", "{d}/new.csv"], "model file '{d}/missing.sktune' does not exist"),
    (["{d}/train.csv", "{d}/new.csv"], "is not a file written by sktune.save"),
    (["{d}/clf.sktune", "{d}/missing.csv"], "data file '{d}/missing.csv' does not exist"),
    (["{d}/clf.sktune", "{d}/reg.csv"], "the data has column(s) 'price' the model was not "
                                        "trained on"),
    (["{d}/clf.sktune", "{d}/narrow.csv"], "the data lacks the feature column(s) 'flag'"),
    (["{d}/reg.sktune", "{d}/new.csv", "--proba"], "--proba needs a classifier"),
    (["{d}/clf.sktune", "{d}/new.csv", "-o", "{d}/out.txt"], "output '{d}/out.txt' must end "
                                                             "in .csv or .parquet"),
    (["{d}/crafted.sktune", "{d}/new.csv"], "'os:system' is a builtin_function_or_method, not "
                                            "a class or a Python function"),
])
def test_bad_input_is_one_line_and_exit_1(saved, capsys, args, message):
    _features(saved).drop(columns="flag").to_csv(saved / "narrow.csv", index=False)
    _craft(saved / "clf.sktune", "os:system")
    args = [a.format(d=saved) for a in args]
    assert main(["predict", *args]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sktune predict: error: "), captured.err
    assert message.format(d=saved) in lines[0]
