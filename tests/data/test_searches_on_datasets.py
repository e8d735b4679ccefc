"""Every search on a torch Dataset: the same results as on arrays, for any n_jobs."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

from _datasets import Digits, Failing
from sktune import BayesSearchCV, HyperbandSearchCV, NeuralNetClassifier, cv_report
from sktune.data import DatasetView, ImageFolder, RandomShift
from sktune.modules import ConvNet
from sktune.space import Integer


def convnet():
    return NeuralNetClassifier(module=ConvNet, module__channels=(4,),
                               module__hidden_layer_sizes=(16,), epochs=2, lr=1e-2,
                               batch_size=32, random_state=0, train_transform=RandomShift(0))


SPACE = {"train_transform__max_shift": [0, 1], "lr": [3e-3, 1e-2]}
SEARCHES = {
    "grid": lambda: GridSearchCV(convnet(), SPACE, cv=3),
    "random": lambda: RandomizedSearchCV(convnet(), SPACE, n_iter=3, cv=3, random_state=0),
    "bayes": lambda: BayesSearchCV(
        convnet(), {"train_transform__max_shift": Integer(0, 2), "lr": [3e-3, 1e-2]},
        n_iter=3, n_points=3, cv=3, random_state=0),
    "hyperband": lambda: HyperbandSearchCV(
        convnet(), {"train_transform__max_shift": Integer(0, 2), "lr": [3e-3, 1e-2]},
        max_epochs=4, factor=2, n_brackets=1, cv=3, random_state=0,
        optimizer_kwargs={"n_initial_points": 2}),
}


def _scores(search):
    return search.cv_results_["params"], search.cv_results_["mean_test_score"]


@pytest.fixture(scope="module")
def data(small_digits):
    X, y = small_digits
    return X[:150], y[:150]


@pytest.fixture(scope="module")
def on_arrays(data):
    return {name: make().set_params(n_jobs=1).fit(*data) for name, make in SEARCHES.items()}


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_search_on_a_dataset_equals_the_search_on_arrays(name, n_jobs, data, on_arrays):
    X, y = data
    view = DatasetView(Digits(X, y))
    search = SEARCHES[name]().set_params(n_jobs=n_jobs).fit(view, view.targets)
    params, scores = _scores(search)
    expected_params, expected = _scores(on_arrays[name])
    assert params == expected_params
    assert_array_equal(scores, expected)
    assert np.isfinite(scores).all() and len(set(scores)) > 1
    assert search.score(view) == on_arrays[name].score(X, y)


@pytest.mark.parametrize("name", ["bayes", "hyperband"])
def test_sktunes_searches_read_the_labels_and_stratify(name, data, on_arrays):
    X, y = data
    search = SEARCHES[name]().fit(Digits(X, y))  # a raw Dataset, y=None
    assert_array_equal(_scores(search)[1], _scores(on_arrays[name])[1])


def test_an_image_folder_in_a_parallel_search_with_loader_workers(digits_folder):
    root, _, _ = digits_folder
    images = ImageFolder(root)
    net = convnet().set_params(num_workers=2, epochs=3)
    search = BayesSearchCV(net, {"train_transform__max_shift": Integer(0, 1)}, n_iter=2,
                           n_points=2, cv=2, n_jobs=2, random_state=0).fit(images)
    again = BayesSearchCV(net.set_params(num_workers=0), {"train_transform__max_shift":
                                                          Integer(0, 1)},
                          n_iter=2, n_points=2, cv=2, n_jobs=1, random_state=0).fit(images)
    assert_array_equal(_scores(search)[1], _scores(again)[1])
    test = cv_report(search, images).test_metrics  # labels read from the folder
    assert test["n_samples"] == len(images)
    assert test["summary"]["accuracy"] == pytest.approx(search.score(images))


class Breaks:
    """A train_transform that fails, as a user's buggy augmentation would."""

    def __call__(self, X):
        raise RuntimeError("augmentation bug")


def test_a_failing_candidate_never_kills_the_search(data):
    X, y = data
    view = DatasetView(Digits(X, y))
    search = GridSearchCV(convnet(), {"train_transform": [RandomShift(0), Breaks()]}, cv=2,
                          error_score=np.nan)
    with pytest.warns(FitFailedWarning, match="augmentation bug"):
        search.fit(view, view.targets)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores[0]) and np.isnan(scores[1])
    assert isinstance(search.best_params_["train_transform"], RandomShift)
    bayes = BayesSearchCV(convnet(), {"train_transform": [RandomShift(0), Breaks()]},
                          n_iter=4, n_points=2, cv=2, random_state=0)
    with pytest.warns(FitFailedWarning, match="augmentation bug"):
        bayes.fit(view)
    assert np.isfinite(bayes.best_score_)


def test_a_dataset_that_cannot_be_read_raises_with_the_readers_message(data):
    X, y = data
    with pytest.raises(OSError, match="disk that went away"):
        convnet().fit(Failing(X, y, bad=True), y)


def test_checkpoints_resume_a_search_on_a_dataset_and_refuse_other_data(data, tmp_path):
    from sktune.exceptions import CheckpointMismatchError

    X, y = data
    path = tmp_path / "search.ckpt"
    make = lambda: BayesSearchCV(convnet(), {"lr": [3e-3, 1e-2, 3e-2]}, n_iter=3,  # noqa: E731
                                 cv=2, random_state=0, checkpoint=path)
    first = make().fit(Digits(X, y))
    resumed = make().fit(Digits(X, y))
    assert_array_equal(_scores(resumed)[1], _scores(first)[1])
    with pytest.raises(CheckpointMismatchError):
        make().fit(Digits(X[::-1].copy(), y[::-1].copy()))
