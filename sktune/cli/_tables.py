"""Tables for the command line: loading ``DATA``, the target, the preprocessing.

``DATA`` is a CSV or Parquet file, or the name of a dataset bundled with
scikit-learn (:data:`BUNDLED`). :func:`make_preprocessor` builds the
``ColumnTransformer`` that turns its columns into the network's input:

- numeric columns: missing values imputed with the median, then standardised;
- categorical columns (text, ``bool``, pandas ``category``): missing values
  imputed with the most frequent value, then one-hot encoded (categories not
  seen in training are all-zero rows).

Everything a user can fix raises :class:`DataError`, one sentence that names
the file or column.
"""

import os
from dataclasses import dataclass

import numpy as np

__all__ = ["BUNDLED", "TARGET", "DataError", "TabularData", "prepare", "load_table",
           "split_target", "check_weights", "infer_task", "check_task", "make_preprocessor",
           "train_test", "check_cv", "select_features"]

#: scikit-learn's bundled datasets usable as ``DATA``: name -> task.
BUNDLED = {"digits": "classification", "iris": "classification", "wine": "classification",
           "breast_cancer": "classification", "diabetes": "regression"}
#: The target column of a bundled dataset.
TARGET = "target"
#: A numeric target with more distinct values than this is a regression target.
_MAX_CLASSES = 20
_READERS = {".csv": "csv", ".tsv": "tsv", ".txt": "csv", ".parquet": "parquet",
            ".pq": "parquet"}
_COMPRESSION = (".gz", ".bz2", ".zip", ".xz", ".zst")


class DataError(ValueError):
    """A problem with the data that the user can fix (a file, a column, too few rows)."""


def _names(values, limit=12):
    """``'a', 'b', ... (and 3 more)`` for messages."""
    values = [str(v) for v in values]
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f" (and {len(values) - limit} more)" if len(values) > limit else "")


@dataclass
class TabularData:
    """A table ready to tune on: what :func:`prepare` returns.

    Attributes
    ----------
    X_train, y_train : pandas.DataFrame, pandas.Series
    X_test, y_test : pandas.DataFrame, pandas.Series or None
        The held-out rows (None with ``test_size=0``).
    target : str
    task : {'classification', 'regression'}
    task_reason : str or None
        Why the task was inferred (None when it was given).
    n_rows : int
        Rows with a target (train and test).
    n_dropped : int
        Rows dropped because their target was missing.
    sample_weight : str or None
        The column of sample weights (not a feature), if any.
    w_train, w_test : numpy.ndarray or None
        The weights of the training and the held-out rows.
    """

    X_train: object
    X_test: object
    y_train: object
    y_test: object
    target: str
    task: str
    task_reason: object
    n_rows: int
    n_dropped: int
    sample_weight: object = None
    w_train: object = None
    w_test: object = None
    text_column: object = None
    ignored: tuple = ()

    @property
    def features(self):
        """The feature columns, as strings."""
        return [str(c) for c in self.X_train.columns]

    @property
    def n_features(self):
        return len(self.features)

    def describe(self):
        """What the data line of ``sktune tune`` says about the table."""
        return f"{self.n_rows} rows, {self.n_features} features, target {self.target!r}"

    def metadata(self):
        """What ``sktune predict`` needs to read a table the same way again."""
        out = {"features": self.features}
        if self.text_column is not None:
            out.update(text_column=self.text_column, ignored=list(self.ignored))
        return out


def prepare(source, *, target=None, task=None, test_size=0.2, cv=3, random_state=None,
            sample_weight=None):
    """Load ``DATA``, split off the target and a test set, and check that CV can run.

    Parameters
    ----------
    source : str
        A file or a bundled dataset's name (see :func:`load_table`).
    target : str, default=None
        The target column; None is allowed for bundled datasets (``'target'``).
    task : {'classification', 'regression'} or None, default=None
        None infers it (:func:`infer_task`).
    test_size : float, default=0.2
        Share of the rows held out (stratified for classification); 0 for none.
    cv : int, default=3
        Folds the search will use on the training rows (checked here).
    random_state : int or None, default=None
        Seeds the test split.
    sample_weight : str, default=None
        A column of non-negative sample weights; it is not a feature.

    Returns
    -------
    data : TabularData

    Examples
    --------
    >>> from sktune.cli._tables import prepare
    >>> data = prepare("iris", random_state=0)
    >>> data.task, data.task_reason, len(data.X_train), len(data.X_test)
    ('classification', '3 classes', 120, 30)
    """
    frame, bundled = load_table(source)
    if target is None:
        if not bundled:
            raise DataError(f"name the target column with --target (the columns of "
                            f"{source!r} are {_names(frame.columns)}).")
        target = TARGET
    X, y, n_dropped = split_target(frame, target)
    if sample_weight is not None:
        check_weights(X, sample_weight, target)
    reason = None
    if task is None:
        task, reason = infer_task(y)
    check_task(y, task, target)
    X_train, X_test, y_train, y_test = train_test(X, y, task, test_size, random_state)
    check_cv(y_train, task, cv)
    # the weights travel with their rows through the split, then leave the features
    w_train, w_test = (None if part is None or sample_weight is None
                       else part.pop(sample_weight).to_numpy(dtype=float)
                       for part in (X_train, X_test))
    _column_kinds(X_train)  # unusable columns fail here, not in every fit
    return TabularData(X_train, X_test, y_train, y_test, target, task, reason, len(y),
                       n_dropped, sample_weight, w_train, w_test)


def text_only(data, column):
    """``(data, others)``: ``data`` whose features are the text ``column`` alone
    (missing texts as ''), and the names of the feature columns left out."""
    import dataclasses

    import pandas as pd

    if column not in data.X_train.columns:
        raise DataError(f"--text-column {column!r} is not a feature column; the feature "
                        f"columns are {_names(data.X_train.columns)}.")
    if not (pd.api.types.is_object_dtype(data.X_train[column])
            or pd.api.types.is_string_dtype(data.X_train[column])):
        raise DataError(f"--text-column {column!r} holds {data.X_train[column].dtype} values, "
                        "not text.")

    def text(X):
        return None if X is None else X[[column]].fillna("").astype(str).astype(object)

    others = [str(c) for c in data.X_train.columns if c != column]
    return dataclasses.replace(data, X_train=text(data.X_train), X_test=text(data.X_test),
                               text_column=str(column), ignored=tuple(others)), others


# -- loading ------------------------------------------------------------------------------
def load_table(source):
    """Read ``DATA``: a CSV/TSV/Parquet file, or a bundled dataset's name.

    A file of that name wins over a bundled dataset.

    Parameters
    ----------
    source : str
        A path (``.csv``, ``.tsv``, ``.parquet``; CSV may be compressed, e.g.
        ``.csv.gz``) or one of :data:`BUNDLED`.

    Returns
    -------
    frame : pandas.DataFrame
    bundled : bool
        Whether ``source`` named a bundled dataset (its target column is
        :data:`TARGET`; class labels are the dataset's class names).

    Raises
    ------
    DataError
        If the file does not exist, has an unknown extension, cannot be read
        or holds no rows.

    Examples
    --------
    >>> from sktune.cli._tables import load_table
    >>> frame, bundled = load_table("iris")
    >>> frame.shape, bundled, frame["target"].iloc[0]
    ((150, 5), True, 'setosa')
    """
    if not os.path.exists(source) and source in BUNDLED:
        return _load_bundled(source), True
    if not os.path.exists(source):
        raise DataError(f"data file {source!r} does not exist (DATA is a .csv or .parquet "
                        f"file, or one of the bundled datasets {_names(BUNDLED)}).")
    if os.path.isdir(source):
        raise DataError(f"{source!r} is a directory; DATA must be a .csv or .parquet file.")
    stem = source.lower()
    for suffix in _COMPRESSION:
        if stem.endswith(suffix):
            stem = stem[:-len(suffix)]
    kind = _READERS.get(os.path.splitext(stem)[1])
    if kind is None:
        raise DataError(f"cannot tell the format of {source!r} from its extension; use a "
                        ".csv, .tsv or .parquet file.")
    frame = _read(source, kind)
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise DataError(f"{source!r} holds no rows or no columns.")
    return frame, False


def _read(path, kind):
    import pandas as pd

    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, sep="\t" if kind == "tsv" else ",")
    except ImportError as exc:
        raise DataError(f"reading {path!r} needs pyarrow (pip install pyarrow): "
                        f"{exc}") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path!r} is empty.") from None
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot read {path!r} as {kind.upper()}: {reason}") from None
    except Exception as exc:  # pyarrow's errors (ArrowInvalid, ...) subclass nothing common
        raise DataError(f"cannot read {path!r} as {kind.upper()}: "
                        f"{type(exc).__name__}: {str(exc)[:200]}") from None


def _load_bundled(name):
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, f"load_{name}")(as_frame=True)
    frame = bunch.frame.copy()
    if BUNDLED[name] == "classification":
        frame[TARGET] = np.asarray(bunch.target_names)[np.asarray(bunch.target)]
    return frame


# -- the target ---------------------------------------------------------------------------
def split_target(frame, target):
    """Features and target; rows without a target are dropped.

    Parameters
    ----------
    frame : pandas.DataFrame
    target : str
        The target column.

    Returns
    -------
    X : pandas.DataFrame
    y : pandas.Series
    n_dropped : int
        Rows dropped because their target was missing.
    """
    if target not in frame.columns:
        raise DataError(f"no column {target!r} in the data; its columns are "
                        f"{_names(frame.columns)}.")
    keep = frame[target].notna().to_numpy()
    if not keep.any():
        raise DataError(f"the target column {target!r} is empty.")
    frame = frame.loc[keep]
    X = frame.drop(columns=[target])
    if X.shape[1] == 0:
        raise DataError(f"the data has no columns besides the target {target!r}.")
    return X, frame[target], int((~keep).sum())


def check_weights(X, column, target):
    """Raise :class:`DataError` unless ``X[column]`` can weight the rows.

    Weights are numbers, finite and non-negative, not all zero; the column
    must leave at least one feature.
    """
    if column == target:
        raise DataError(f"--sample-weight {column!r} is the target column; name another one.")
    if column not in X.columns:
        raise DataError(f"no column {column!r} for --sample-weight; the columns besides the "
                        f"target are {_names(X.columns)}.")
    if X.shape[1] == 1:
        raise DataError(f"the data has no feature columns besides the target {target!r} and "
                        f"the sample weights {column!r}.")
    weights = X[column]
    if not _is_numeric(weights):
        raise DataError(f"the sample-weight column {column!r} must hold numbers; it holds "
                        f"{weights.dtype}.")
    values = weights.to_numpy(dtype=float)
    for bad, what in ((~np.isfinite(values), "missing or infinite"), (values < 0, "negative")):
        if bad.any():
            raise DataError(f"the sample-weight column {column!r} has {what} values in "
                            f"{int(bad.sum())} row(s); weights must be numbers >= 0.")
    if not values.sum() > 0:
        raise DataError(f"the sample weights in {column!r} are all zero; give some rows a "
                        "positive weight.")


def _is_numeric(series):
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def infer_task(y):
    """``('regression' | 'classification', reason)`` for a target column.

    Regression for a numeric target whose values are not all whole numbers or
    that has more than 20 distinct values; classification otherwise (text,
    booleans, a few distinct numbers).

    Examples
    --------
    >>> import pandas as pd
    >>> from sktune.cli._tables import infer_task
    >>> infer_task(pd.Series(["a", "b", "a"]))
    ('classification', '2 classes')
    >>> infer_task(pd.Series([0.5, 1.25, 3.0]))
    ('regression', 'numeric target with fractional values')
    """
    n_unique = int(y.nunique())
    if _is_numeric(y):
        values = y.to_numpy(dtype=float)
        if not np.all(values == np.round(values)):
            return "regression", "numeric target with fractional values"
        if n_unique > _MAX_CLASSES:
            return "regression", f"numeric target with {n_unique} distinct values"
    return "classification", f"{n_unique} classes"


def check_task(y, task, target):
    """Raise :class:`DataError` if ``task`` cannot be learnt from ``y``."""
    if task == "regression" and not _is_numeric(y):
        raise DataError(f"--task regression needs a numeric target, but {target!r} holds "
                        f"{y.dtype} values such as {y.iloc[0]!r}.")
    if task == "classification" and y.nunique() < 2:
        raise DataError(f"the target {target!r} has a single value ({y.iloc[0]!r}); "
                        "classification needs at least 2 classes.")


# -- preprocessing ------------------------------------------------------------------------
def _column_kinds(X):
    import pandas as pd

    numeric, categorical = [], []
    for name in X.columns:
        column = X[name]
        if _is_numeric(column) and not pd.api.types.is_complex_dtype(column):
            numeric.append(name)
        elif (pd.api.types.is_bool_dtype(column) or pd.api.types.is_object_dtype(column)
              or pd.api.types.is_string_dtype(column)
              or isinstance(column.dtype, pd.CategoricalDtype)):
            categorical.append(name)
        else:
            raise DataError(f"column {name!r} has dtype {column.dtype}, which sktune cannot "
                            "use as a feature; convert it to numbers or text, or drop it.")
    return numeric, categorical


def make_preprocessor(X):
    """The ``ColumnTransformer`` for the columns of ``X`` (see the module docstring).

    Parameters
    ----------
    X : pandas.DataFrame
        The feature columns (their dtypes decide numeric or categorical).

    Returns
    -------
    preprocessor : ColumnTransformer (unfitted)

    Examples
    --------
    >>> import pandas as pd
    >>> from sktune.cli._tables import make_preprocessor
    >>> X = pd.DataFrame({"age": [30.0, None, 50.0], "city": ["a", "b", None]})
    >>> make_preprocessor(X).fit_transform(X).round(2).tolist()
    [[-1.22, 1.0, 0.0], [0.0, 0.0, 1.0], [1.22, 1.0, 0.0]]
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric, categorical = _column_kinds(X)
    transformers = []
    if numeric:
        transformers.append(("numeric", Pipeline([
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
        ]), numeric))
    if categorical:
        transformers.append(("categorical", Pipeline([
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]), categorical))
    return ColumnTransformer(transformers, remainder="drop")


# -- splits -------------------------------------------------------------------------------
def train_test(X, y, task, test_size, random_state):
    """Hold out ``test_size`` of the rows (stratified for classification).

    Returns ``(X_train, X_test, y_train, y_test)``; the test parts are None
    when ``test_size`` is 0.
    """
    from sklearn.model_selection import train_test_split

    if not test_size:
        return X, None, y, None
    stratify = y if task == "classification" else None
    if stratify is not None:
        counts = y.value_counts()
        if counts.min() < 2:
            raise DataError(
                f"class {counts.idxmin()!r} has a single row: a stratified test split needs "
                "at least 2 rows of every class (add rows, drop the class, or use "
                "--test-size 0).")
    try:
        return train_test_split(X, y, test_size=test_size, stratify=stratify,
                                random_state=random_state)
    except ValueError as exc:
        raise DataError(f"cannot hold out a test split of {test_size!r} of {len(y)} rows: "
                        f"{exc}") from None


def check_cv(y, task, cv):
    """Raise :class:`DataError` unless ``cv``-fold cross-validation can run on ``y``."""
    if task == "classification":
        counts = y.value_counts()
        if len(counts) < 2:
            raise DataError(f"the training rows hold a single class ({counts.index[0]!r}); "
                            "classification needs at least 2.")
        if counts.min() < cv:
            raise DataError(
                f"--cv {cv} needs at least {cv} training rows of every class, but class "
                f"{counts.idxmin()!r} has {int(counts.min())}; use a smaller --cv or more data.")
    elif len(y) < 2 * cv:
        raise DataError(f"--cv {cv} needs at least {2 * cv} training rows; there are {len(y)}.")


def select_features(frame, features, target=None, sample_weight=None, ignored=()):
    """The columns ``features`` of ``frame``, in that order, for prediction.

    Parameters
    ----------
    frame : pandas.DataFrame
    features : list of str
        The columns the model was trained on.
    target : str, default=None
        The target column, which ``frame`` may contain (it is left out).
    sample_weight : str, default=None
        The sample-weight column of the training data, which ``frame`` may
        contain too (it is left out).
    ignored : sequence of str, default=()
        Columns of the training table the model did not use (the other
        columns beside a ``--text-column``), which ``frame`` may contain.

    Raises
    ------
    DataError
        If a feature column is missing, or ``frame`` has a column that is
        neither a feature nor the target.
    """
    features = [str(f) for f in features]
    columns = [str(c) for c in frame.columns]
    missing = [f for f in features if f not in columns]
    if missing:
        raise DataError(f"the data lacks the feature column(s) {_names(missing)} the model "
                        "was trained on.")
    unknown = [c for c in columns if c not in features and c not in (target, sample_weight)
               and c not in ignored]
    if unknown:
        raise DataError(f"the data has column(s) {_names(unknown)} the model was not trained "
                        "on; drop them (expected the columns "
                        f"{_names(features)}{f' and optionally {target!r}' if target else ''}).")
    frame = frame.set_axis(columns, axis=1)
    return frame[features]
