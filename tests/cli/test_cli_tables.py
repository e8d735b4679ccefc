"""sktune.cli._tables: loading DATA, the target, the task, the preprocessing, the splits."""

import numpy as np
import pandas as pd
import pytest

from sktune.cli._tables import (BUNDLED, DataError, check_cv, infer_task, load_table,
                            make_preprocessor, prepare, select_features, split_target)


def _mixed_frame(n=60, seed=0):
    """Numeric, text and bool columns, a missing value in each of the first two."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "size": rng.normal(10, 3, n),
        "colour": rng.choice(["red", "green", "blue"], n),
        "flag": rng.random(n) > 0.5,
        "count": rng.integers(0, 9, n),
    })
    frame["label"] = np.where(frame["size"] + (frame["colour"] == "red") * 3 > 11, "yes", "no")
    frame.loc[4, "size"] = np.nan
    frame.loc[7, "colour"] = None
    return frame


@pytest.fixture
def mixed_csv(tmp_path):
    path = tmp_path / "mixed.csv"
    _mixed_frame().to_csv(path, index=False)
    return path


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_datasets_have_a_target_column(name):
    frame, bundled = load_table(name)
    assert bundled and "target" in frame.columns and len(frame) > 100
    task, _ = infer_task(frame["target"])
    assert task == BUNDLED[name]


def test_bundled_class_labels_are_names():
    frame, _ = load_table("iris")
    assert set(frame["target"]) == {"setosa", "versicolor", "virginica"}


def test_csv_and_parquet_read_the_same(mixed_csv, tmp_path):
    csv, _ = load_table(str(mixed_csv))
    pd.read_csv(mixed_csv).to_parquet(tmp_path / "mixed.parquet")
    parquet, bundled = load_table(str(tmp_path / "mixed.parquet"))
    assert not bundled and csv.shape == parquet.shape == (60, 5)
    assert list(csv.columns) == list(parquet.columns)
    assert csv["size"].isna().sum() == 1


def test_a_file_wins_over_a_bundled_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "iris").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="cannot tell the format"):
        load_table("iris")


@pytest.mark.parametrize("content, name, message", [
    (None, "missing.csv", "does not exist"),
    ("a,b\n1,2\n", "table.xlsx", "cannot tell the format"),
    ("", "empty.csv", "is empty"),
    (b"\xff\xfe\x00garbage\x00", "bad.parquet", "cannot read"),
    ('a,b\n"1,2\n', "broken.csv", "cannot read"),
])
def test_unreadable_files_are_one_sentence(tmp_path, content, name, message):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(DataError, match=message) as info:
        load_table(str(path))
    assert "\n" not in str(info.value)


def test_split_target_drops_rows_without_target():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": ["a", None, "b"]})
    X, y, dropped = split_target(frame, "y")
    assert dropped == 1 and list(X.columns) == ["x"] and list(y) == ["a", "b"]
    with pytest.raises(DataError, match="no column 'z'.*'x', 'y'"):
        split_target(frame, "z")


@pytest.mark.parametrize("values, task", [
    (["a", "b", "a"], "classification"),
    ([True, False, True], "classification"),
    ([0, 1, 2, 1], "classification"),
    ([0.0, 1.0, 1.0], "classification"),
    ([0.5, 1.5, 2.25], "regression"),
    (list(range(30)), "regression"),
])
def test_infer_task(values, task):
    assert infer_task(pd.Series(values))[0] == task


def test_preprocessor_imputes_scales_and_one_hot_encodes():
    frame = _mixed_frame()
    X = frame.drop(columns="label")
    pre = make_preprocessor(X)
    out = pre.fit_transform(X)
    # 2 numeric + 3 colours + 2 flags
    assert out.shape == (60, 7) and np.isfinite(out).all()
    np.testing.assert_allclose(out[:, :2].mean(axis=0), 0, atol=1e-12)
    assert set(np.unique(out[:, 2:])) == {0.0, 1.0}
    unseen = X.iloc[:1].copy()
    unseen["colour"] = "purple"  # unknown categories are ignored, not errors
    assert pre.transform(unseen)[0, 2:5].tolist() == [0.0, 0.0, 0.0]


def test_unusable_column_is_named():
    X = pd.DataFrame({"when": pd.date_range("2020-01-01", periods=3), "x": [1, 2, 3]})
    with pytest.raises(DataError, match="column 'when' has dtype datetime64"):
        make_preprocessor(X)


def test_prepare_holds_out_a_stratified_test_split(mixed_csv):
    data = prepare(str(mixed_csv), target="label", test_size=0.25, random_state=0)
    assert data.task == "classification" and data.task_reason == "2 classes"
    assert len(data.X_train) == 45 and len(data.X_test) == 15
    assert data.features == ["size", "colour", "flag", "count"]
    share = (data.y_train == "yes").mean(), (data.y_test == "yes").mean()
    assert abs(share[0] - share[1]) < 0.1
    no_test = prepare(str(mixed_csv), target="label", test_size=0)
    assert no_test.X_test is None and len(no_test.X_train) == 60


@pytest.mark.parametrize("test_size", [0.25, 0])
def test_prepare_splits_the_weight_column_with_its_rows(mixed_csv, test_size):
    """The weights follow their rows through the test split and leave the features."""
    data = prepare(str(mixed_csv), target="label", test_size=test_size, random_state=0,
                   sample_weight="count")
    assert data.features == ["size", "colour", "flag"] and data.sample_weight == "count"
    original = _mixed_frame()["count"]
    np.testing.assert_array_equal(data.w_train, original.loc[data.X_train.index])
    if test_size:
        np.testing.assert_array_equal(data.w_test, original.loc[data.X_test.index])
    else:
        assert data.X_test is None and data.w_test is None
    plain = prepare(str(mixed_csv), target="label", test_size=test_size, random_state=0)
    assert plain.w_train is None and plain.sample_weight is None
    np.testing.assert_array_equal(plain.X_train.index, data.X_train.index)


def test_prepare_needs_a_target_for_files(mixed_csv):
    with pytest.raises(DataError, match="name the target column with --target"):
        prepare(str(mixed_csv))


def test_regression_task_needs_numbers(mixed_csv):
    with pytest.raises(DataError, match="--task regression needs a numeric target"):
        prepare(str(mixed_csv), target="label", task="regression")


def test_too_few_rows_per_class_for_cv():
    y = pd.Series(["a"] * 10 + ["b"] * 2)
    with pytest.raises(DataError, match="--cv 3 needs at least 3 training rows of every "
                                        "class, but class 'b' has 2"):
        check_cv(y, "classification", 3)
    with pytest.raises(DataError, match="at least 10 training rows"):
        check_cv(pd.Series(np.arange(6.0)), "regression", 5)


def test_single_row_class_cannot_be_stratified(tmp_path):
    frame = pd.DataFrame({"x": np.arange(20.0), "y": ["a"] * 10 + ["b"] * 9 + ["c"]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match="class 'c' has a single row"):
        prepare(str(tmp_path / "t.csv"), target="y")


def test_select_features():
    frame = pd.DataFrame({"b": [1], "a": [2], "target": [0]})
    assert list(select_features(frame, ["a", "b"], "target").columns) == ["a", "b"]
    with pytest.raises(DataError, match="lacks the feature column.*'c'"):
        select_features(frame, ["a", "b", "c"], "target")
    with pytest.raises(DataError, match="column.*'target' the model was not trained on"):
        select_features(frame, ["a", "b"])
