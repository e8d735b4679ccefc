"""The main job: tune an sktune network on sklearn's digits with GridSearchCV.

Run with ``make run`` (sets up the environment first) or
``.venv/bin/python examples/tune_digits.py``.
"""

import time

from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune import NeuralNetClassifier


def main():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0)

    pipe = make_pipeline(StandardScaler(),
                         NeuralNetClassifier(epochs=20, batch_size=64, random_state=0))
    grid = {
        "neuralnetclassifier__hidden_layer_sizes": [(64,), (128, 64)],
        "neuralnetclassifier__lr": [1e-3, 3e-3],
        "neuralnetclassifier__dropout": [0.0, 0.2],
    }
    search = GridSearchCV(pipe, grid, cv=3, n_jobs=2)
    start = time.perf_counter()
    search.fit(X_train, y_train)
    elapsed = time.perf_counter() - start

    n_fits = len(search.cv_results_["params"]) * search.n_splits_
    print(f"GridSearchCV on digits: {n_fits} fits in {elapsed:.1f} s (n_jobs=2)")
    print("best parameters:")
    for name, value in search.best_params_.items():
        print(f"  {name.split('__', 1)[1]} = {value!r}")
    print(f"best CV accuracy: {search.best_score_:.4f}")
    print(f"test accuracy:    {search.score(X_test, y_test):.4f}")


if __name__ == "__main__":
    main()
