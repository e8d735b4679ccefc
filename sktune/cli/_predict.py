"""``sktune predict MODEL DATA [-o OUT] [--proba]``: predictions of a saved model.

``MODEL`` is a file of ``sktune tune --save`` (or ``sktune.save``), read
without pickle; ``DATA`` a table with the columns the model was trained on,
or, for a model tuned on an image folder, a folder of images in class folders
(read at the model's image size; the output has a ``file`` column).
"""

import sys

from ._errors import CLIError, first_line, user_errors
from ._files import load_saved, output_path
from ._images import images_as_tuned, is_image_folder

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Declare ``predict`` and its arguments."""
    parser = subparsers.add_parser(
        "predict", help="predictions of a model saved by 'sktune tune --save'",
        description="Predict with a model saved by 'sktune tune --save' (or sktune.save): "
        "read without pickle. DATA needs the columns the model was trained on; it may also "
        "hold the target column (then, with -o, the score on DATA is printed).")
    parser.add_argument("model", metavar="MODEL", help="file written by 'sktune tune --save'")
    parser.add_argument("data", metavar="DATA",
                        help="a .csv/.tsv/.parquet file, a bundled dataset's name, or a "
                        "folder of images in class folders (for a model tuned on images)")
    parser.add_argument("-o", "--output", default="-", metavar="OUT",
                        help="where to write the predictions: .csv or .parquet; - for "
                        "CSV on stdout (default)")
    parser.add_argument("--proba", action="store_true",
                        help="add each class's probability (classifiers), columns "
                        "proba_<class>")
    parser.add_argument("--target", metavar="COL",
                        help="the target column DATA may hold (default: the one the model "
                        "was tuned for)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(run=run)


def _model_and_features(path):
    from ..persistence import load_metadata

    saved = load_saved(path, "model file")
    model = getattr(saved, "best_estimator_", saved)
    if not hasattr(model, "predict") or hasattr(model, "cv_results_"):
        raise CLIError(f"{path!r} holds a search without a refitted model (refit=False).")
    with user_errors():
        metadata = load_metadata(path)
    features = metadata.get("features")
    if features is None:
        first = model.steps[0][1] if hasattr(model, "steps") else model
        names = getattr(first, "feature_names_in_", None)
        features = None if names is None else [str(n) for n in names]
    return model, features, metadata


def run(args):
    """Run ``sktune predict`` with parsed ``args``; 0 on success."""
    import pandas as pd

    from ._build import DEFAULT_METRIC
    from ._tables import load_table, select_features

    output = args.output
    if output != "-":
        output_path(output, "output", (".csv", ".parquet"))
    model, features, metadata = _model_and_features(args.model)
    target = args.target or metadata.get("target")
    is_classifier = hasattr(model, "classes_")
    if args.proba and not (is_classifier and hasattr(model, "predict_proba")):
        raise CLIError("--proba needs a classifier; this model is a regressor.")
    images = is_image_folder(args.data)
    with user_errors():
        if images:
            X, head, y = images_as_tuned(args.data, metadata)
        elif metadata.get("images") is not None:
            raise CLIError(f"the model was tuned on a folder of images; give it a folder of "
                           f"images in class folders, not {args.data!r}.")
        else:
            head = pd.DataFrame()
            frame, _ = load_table(args.data)
            if features is None:  # a model fitted on unnamed columns: all but the target
                features = [str(c) for c in frame.columns if str(c) != target]
            X = select_features(frame, features, target, metadata.get("sample_weight"),
                                ignored=metadata.get("ignored", ()))
            if metadata.get("text_column") is not None:  # as tuned: missing texts are ''
                X = X.fillna("").astype(str).astype(object)
            y = _table_target(frame, target)
    try:
        result = head.assign(prediction=model.predict(X))
        if args.proba:
            proba = model.predict_proba(X)
            for i, label in enumerate(model.classes_):
                result[f"proba_{label}"] = proba[:, i]
    except ValueError as exc:
        raise CLIError(f"the model cannot predict on {args.data!r}: {first_line(exc)}") from None
    if output == "-":
        result.to_csv(sys.stdout, index=False)
        return 0
    try:
        if output.lower().endswith(".parquet"):
            result.to_parquet(output, index=False)
        else:
            result.to_csv(output, index=False)
    except (OSError, ImportError) as exc:
        raise CLIError(f"cannot write {output!r}: {first_line(exc)}") from None
    if not args.quiet:
        print(f"wrote {len(result)} predictions to {output}")
        if y is not None:
            metric = DEFAULT_METRIC["classification" if is_classifier else "regression"]
            print(f"{metric} on {args.data}: {model.score(X, y):.4f}")
    return 0


def _table_target(frame, target):
    """The target column of ``frame`` if it has one without gaps, else None."""
    if target is None or target not in [str(c) for c in frame.columns]:
        return None
    y = frame.set_axis([str(c) for c in frame.columns], axis=1)[target]
    return y if y.notna().all() else None
