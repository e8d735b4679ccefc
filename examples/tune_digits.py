"""The main job: tune an sktune network on sklearn's digits and write a report.

A ``BayesSearchCV`` over learning rate, width, dropout, weight penalty and
batch size, 3-fold CV with 2 parallel workers, then a cross-validation report
(HTML) with held-out test metrics. Run with ``make run`` (which sets up the
environment first) or ``.venv/bin/python examples/tune_digits.py [-o PATH]``.
"""

import argparse
import time
from pathlib import Path

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune import BayesSearchCV, NeuralNetClassifier
from sktune.report import cv_report
from sktune.space import Categorical, Real

SPACE = {
    "neuralnetclassifier__lr": Real(3e-4, 3e-2, prior="log-uniform"),
    "neuralnetclassifier__hidden_layer_sizes": Categorical([(64,), (128,), (128, 64)]),
    "neuralnetclassifier__dropout": Real(0.0, 0.4),
    "neuralnetclassifier__alpha": Real(1e-6, 1e-2, prior="log-uniform"),
    "neuralnetclassifier__batch_size": Categorical([32, 64, 128]),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="reports/digits_report.html",
                        help="where to write the HTML report (default: %(default)s)")
    parser.add_argument("--n-iter", type=int, default=20)
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0)

    pipe = make_pipeline(StandardScaler(),
                         NeuralNetClassifier(epochs=20, random_state=0))
    search = BayesSearchCV(pipe, SPACE, n_iter=args.n_iter, cv=3, n_jobs=2, n_points=2,
                           random_state=0)
    start = time.perf_counter()
    search.fit(X_train, y_train)
    elapsed = time.perf_counter() - start

    n_fits = len(search.cv_results_["params"]) * search.n_splits_
    print(f"BayesSearchCV on digits: {n_fits} fits in {elapsed:.1f} s (n_jobs=2)")
    print("best parameters:")
    for name, value in search.best_params_.items():
        print(f"  {name.split('__', 1)[1]} = {value!r}")
    print(f"best CV accuracy: {search.best_score_:.4f}")
    print(f"test accuracy:    {search.score(X_test, y_test):.4f}")

    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv_report(search, X_test, y_test).to_html(path)
    print(f"report written to {path.resolve()}")


if __name__ == "__main__":
    main()
