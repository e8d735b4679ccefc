"""``sktune tune --data DIR --model cnn``: image folders on the command line, and
``sktune predict`` / ``sktune report`` of the model tuned on them."""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

from sktune.cli import main
from sktune.persistence import load, load_metadata

pytest.importorskip("PIL")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "data"))
from _images import write_digits  # noqa: E402

SPACE = "lr: {low: 3e-3, high: 3e-2, prior: log-uniform}\nmodule__channels: [[4], [8]]\n" \
        "train_transform__max_shift: [0, 1]\nepochs: 3\n"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    X, y = load_digits(return_X_y=True)
    root = tmp_path_factory.mktemp("cli_images")
    write_digits(root / "train", X[:150] / 16, y[:150] % 3)
    write_digits(root / "new", X[150:180] / 16, y[150:180] % 3)
    (root / "space.yaml").write_text(SPACE)
    return root


@pytest.fixture(scope="module")
def tuned(folders):
    out = folders / "model.sktune"
    code = main(["tune", "--data", str(folders / "train"), "--model", "cnn", "--space",
                 str(folders / "space.yaml"), "--n-iter", "2", "--cv", "2", "--quiet",
                 "--image-size", "12", "--save", str(out)])
    assert code == 0
    return out


def test_tune_reads_the_folder_and_holds_out_images(folders, capsys):
    code = main(["tune", "--data", str(folders / "train"), "--model", "cnn", "--space",
                 str(folders / "space.yaml"), "--n-iter", "2", "--cv", "2", "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_rows"] == 150 and summary["n_test"] == 30 and summary["n_train"] == 120
    assert summary["task"] == "classification" and summary["n_features"] == 64
    assert summary["n_failed_fits"] == 0 and 0 <= summary["test_score"] <= 1
    assert set(summary["best_params"]) == {"lr", "module__channels",
                                           "train_transform__max_shift", "epochs"}


def test_the_text_output_describes_the_images(folders, capsys):
    assert main(["tune", "--data", str(folders / "train"), "--model", "cnn", "--space",
                 str(folders / "space.yaml"), "--n-iter", "2", "--cv", "2",
                 "--test-size", "0", "--image-size", "10x12"]) == 0
    out = capsys.readouterr().out
    assert "150 images (10x12 grayscale) in 3 classes (the folder names); 0 held out" in out


def test_the_saved_model_predicts_a_folder_by_file(tuned, folders, tmp_path, capsys):
    assert load_metadata(tuned)["images"] == {"size": [12, 12], "mode": "L"}
    out = tmp_path / "pred.csv"
    assert main(["predict", str(tuned), str(folders / "new"), "-o", str(out), "--proba"]) == 0
    printed = capsys.readouterr().out
    predictions = pd.read_csv(out)
    assert len(predictions) == 30 and predictions["file"].str.endswith(".png").all()
    assert set(predictions["prediction"]) <= {"d0", "d1", "d2"}
    assert [c for c in predictions.columns if c.startswith("proba_")] == [
        "proba_d0", "proba_d1", "proba_d2"]
    # the same predictions as the model itself on the same images, in the same order
    from sktune.data import ImageFolder

    model = load(tuned).best_estimator_
    expected = model.predict(ImageFolder(folders / "new", size=12))
    assert list(predictions["prediction"]) == list(expected)
    accuracy = float(printed.split("accuracy on")[1].split(":")[1])
    truth = np.array([f.split("/")[0] for f in predictions["file"]])
    assert accuracy == pytest.approx(np.mean(truth == predictions["prediction"]), abs=1e-4)


def test_report_takes_a_folder_as_test_data(tuned, folders, tmp_path, capsys):
    out = tmp_path / "report.md"
    assert main(["report", str(tuned), "--test-data", str(folders / "new"), "-o",
                 str(out)]) == 0
    assert "accuracy" in out.read_text().lower()
    assert "30" in out.read_text()


def test_errors_say_what_applies_to_image_folders(folders, tuned, capsys):
    data = str(folders / "train")
    assert main(["tune", "--data", data, "--model", "mlp"]) == 1
    assert "folder of images: tune it with --model cnn" in capsys.readouterr().err
    assert main(["tune", "--data", data, "--model", "cnn", "--target", "x"]) == 1
    assert "--target does not apply to an image folder" in capsys.readouterr().err
    assert main(["tune", "--data", "iris", "--image-size", "8"]) == 1
    assert "--image-size applies to an image folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["tune", "--data", data, "--image-size", "0x3"])
    assert "expected a size like 32 or 32x48" in capsys.readouterr().err
    empty = folders / "empty"
    (empty / "only").mkdir(parents=True)
    assert main(["tune", "--data", str(empty), "--model", "cnn"]) == 1
    assert "holds no image" in capsys.readouterr().err
    assert main(["predict", str(tuned), "digits"]) == 1
    assert "tuned on a folder of images" in capsys.readouterr().err


def test_print_space_of_an_image_folder_adds_the_shift(folders, capsys):
    assert main(["tune", "--print-space", "--model", "cnn", "--data",
                 str(folders / "train")]) == 0
    with_images = capsys.readouterr().out
    assert "on an image folder" in with_images
    assert "train_transform__max_shift: {categories: [0, 1, 2]" in with_images
    assert main(["tune", "--print-space", "--model", "cnn"]) == 0
    assert "train_transform__max_shift" not in capsys.readouterr().out
