"""Search-space dimensions, shorthands, validation and conversions."""

import math

import numpy as np
import pytest
import scipy.stats
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

from sktune.search.space import (
    Categorical,
    Distribution,
    Integer,
    Real,
    Space,
    parse_search_spaces,
)

# -- shorthands ----------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, expected",
    [
        ((0.1, 1.0), Real(0.1, 1.0, name="p")),
        ((0, 1.5), Real(0.0, 1.5, name="p")),
        ((1, 20), Integer(1, 20, name="p")),
        ((np.int64(1), np.int32(5)), Integer(1, 5, name="p")),
        ((1e-4, 1e-1, "log-uniform"), Real(1e-4, 1e-1, prior="log-uniform", name="p")),
        ((2, 64, "log-uniform"), Integer(2, 64, prior="log-uniform", name="p")),
        ((0.0, 1.0, "uniform"), Real(0.0, 1.0, name="p")),
        (["adam", "sgd"], Categorical(["adam", "sgd"], name="p")),
        ([None], Categorical([None], name="p")),
        (np.array([1, 2, 3]), Categorical([1, 2, 3], name="p")),
        (range(1, 21), Integer(1, 20, name="p")),
        (range(0, 10, 3), Categorical([0, 3, 6, 9], name="p")),
        (Real(0.0, 2.0), Real(0.0, 2.0, name="p")),
        (Real(0.0, 2.0, name="p"), Real(0.0, 2.0, name="p")),
    ],
)
def test_shorthands(spec, expected):
    space = Space({"p": spec})
    assert space["p"] == expected
    assert space.names == ["p"]


def test_dimension_names_come_from_keys_or_positions():
    space = Space({"b": (0.0, 1.0), "a": ["x", "y"]})
    assert space.names == ["b", "a"]  # insertion order is kept
    assert [d.name for d in space] == ["b", "a"]
    listed = Space([(0.0, 1.0), Integer(1, 3, name="depth"), ["x"]])
    assert listed.names == ["x0", "depth", "x2"]
    # A dimension object is not mutated when named by a key.
    dim = Real(0.0, 1.0)
    Space({"lr": dim})
    assert dim.name is None


@pytest.mark.parametrize(
    "dist, expected",
    [
        (scipy.stats.uniform(2, 3), Real(2.0, 5.0, name="p")),
        (scipy.stats.loguniform(1e-4, 1e-1), Real(1e-4, 1e-1, "log-uniform", name="p")),
        (scipy.stats.reciprocal(1e-3, 1.0), Real(1e-3, 1.0, "log-uniform", name="p")),
        (scipy.stats.randint(1, 10), Integer(1, 9, name="p")),
    ],
)
def test_known_scipy_distributions_map_to_real_and_integer(dist, expected):
    assert Space({"p": dist})["p"] == expected


def test_shifted_loguniform_is_not_mistaken_for_a_log_uniform_real():
    dim = Space({"p": scipy.stats.loguniform(1.0, 10.0, loc=5.0)})["p"]
    assert isinstance(dim, Distribution)


@pytest.mark.parametrize(
    "dist, kind, value_type",
    [
        (scipy.stats.norm(0, 1), "continuous", float),
        (scipy.stats.expon(scale=2.0), "continuous", float),
        (scipy.stats.cauchy(), "continuous", float),
        (scipy.stats.poisson(3), "integer", int),
        (scipy.stats.geom(0.3), "integer", int),
        (scipy.stats.binom(10, 0.4), "integer", int),
    ],
)
def test_generic_scipy_distributions(dist, kind, value_type):
    dim = Space({"p": dist})["p"]
    assert isinstance(dim, Distribution)
    assert dim.kind == kind
    values = dim.rvs(500, random_state=0)
    assert all(type(v) is value_type and math.isfinite(v) for v in values)
    # Inverse-cdf sampling reproduces the distribution (KS test on continuous).
    if kind == "continuous":
        assert scipy.stats.kstest(values, dist.cdf).pvalue > 1e-3
    else:
        assert abs(np.mean(values) - dist.mean()) < 4 * dist.std() / np.sqrt(500)
    # Unbounded distributions map the ends of the unit interval to finite values.
    ends = dim.inverse_transform([[0.0], [1.0]])
    assert all(math.isfinite(v) for v in ends) and ends[0] < ends[1]
    back = dim.inverse_transform(dim.transform(values))
    np.testing.assert_allclose(back, values, rtol=1e-6, atol=1e-9)


def test_discrete_distribution_with_small_support_is_enumerated():
    dim = Distribution(scipy.stats.binom(4, 0.5))
    np.testing.assert_allclose(dim._choices().ravel(), dim.transform(range(5)).ravel())
    assert dim.n_values == 5
    assert Distribution(scipy.stats.poisson(2))._choices() is None


# -- validation -----------------------------------------------------------------


@pytest.mark.parametrize(
    "spaces, message",
    [
        ({}, "search space is empty"),
        ([], "search space is empty"),
        ({"p": []}, "Parameter 'p' has no categories"),
        ({"p": (1.0, 0.5)}, r"Parameter 'p' has low=1.0 >= high=0.5"),
        ({"p": (3, 3)}, r"Parameter 'p' has low=3 >= high=3"),
        ({"p": (0.0, 1.0, "log-uniform")}, "prior='log-uniform' with low=0.0"),
        ({"p": (-1, 5, "log-uniform")}, "prior='log-uniform' with low=-1"),
        ({"p": (0.0, 1.0, "normal")}, "Unknown prior 'normal' in .* for parameter 'p'; "
                                      "the allowed priors are 'uniform', 'log-uniform'"),
        ({"p": (1, 2, 3)}, r"Cannot understand \(1, 2, 3\) for parameter 'p'.*use a list: "
                           r"\[1, 2, 3\]"),
        ({"p": ("a", "b")}, r"Cannot understand \('a', 'b'\).*\['a', 'b'\]"),
        ({"p": (1.0,)}, r"Cannot understand \(1.0,\)"),
        ({"p": "adam"}, r"Cannot understand 'adam' for parameter 'p'.*wrap it in a list: "
                        r"\['adam'\]"),
        ({"p": 0.5}, r"Cannot understand 0.5 for parameter 'p'.*\[0.5\]"),
        ({"p": None}, r"Cannot understand None for parameter 'p'"),
        ({"p": (0.0, math.inf)}, "high=inf of parameter 'p' must be a finite number"),
        ({"p": ["a", "b", "a"]}, "lists the category 'a' more than once"),
        ({"p": Real(0, 1, name="q")}, "given for parameter 'p' is named 'q'"),
    ],
)
def test_invalid_spaces_raise_clear_errors(spaces, message):
    with pytest.raises(ValueError, match=message):
        Space(spaces)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: Real(0, 1, prior="log", name="x"),
         "Unknown prior 'log' for parameter 'x'; the allowed"),
        (lambda: Integer(1.5, 4, name="x"), "low=1.5 of parameter 'x' must be an integer"),
        (lambda: Real("a", 1, name="x"), "low='a' of parameter 'x' must be a finite number"),
        (lambda: Categorical("abc", name="x"), r"must be a list of values.*\['abc'\]"),
        (lambda: Categorical([], name="x"), "Parameter 'x' has no categories"),
    ],
)
def test_dimension_constructors_validate(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_space_type_and_key_errors():
    with pytest.raises(TypeError, match="dict {name: dimension} or a list"):
        Space("lr")
    with pytest.raises(TypeError, match="Parameter names must be strings; got 1"):
        Space({1: (0.0, 1.0)})
    with pytest.raises(ValueError, match=r"names must be unique; repeated: \['a'\]"):
        Space([Real(0, 1, name="a"), Real(0, 1, name="a")])
    with pytest.raises(TypeError, match="expected a frozen scipy.stats distribution"):
        Distribution([1, 2])
    with pytest.raises(KeyError, match="No parameter 'zz'"):
        Space({"a": (0.0, 1.0)})["zz"]


def test_transform_rejects_values_outside_the_space():
    space = Space({"lr": (1e-3, 1.0, "log-uniform"), "n": (1, 5), "act": ["relu", "tanh"]})
    good = {"lr": 0.01, "n": 2, "act": "relu"}
    space.transform([good])
    with pytest.raises(ValueError, match=r"Value 2.0 of parameter 'lr' is outside its bounds"):
        space.transform([{**good, "lr": 2.0}])
    with pytest.raises(ValueError, match="Value 2.5 of parameter 'n' is not an integer"):
        space.transform([{**good, "n": 2.5}])
    with pytest.raises(ValueError, match="Value 'elu' of parameter 'act' is not one of"):
        space.transform([{**good, "act": "elu"}])
    with pytest.raises(ValueError, match=r"missing \['act'\], unknown \['extra'\]"):
        space.transform([{"lr": 0.01, "n": 2, "extra": 1}])
    with pytest.raises(ValueError, match="must be numbers"):
        space.transform([{**good, "lr": "fast"}])


# -- conversions -------------------------------------------------------------------


def test_real_and_integer_transforms():
    real = Real(1e-4, 1e-1, prior="log-uniform")
    np.testing.assert_allclose(real.transform([1e-4, 1e-2, 1e-1]).ravel(), [0, 2 / 3, 1])
    integer = Integer(0, 3)
    X = integer.transform([0, 1, 2, 3])
    np.testing.assert_allclose(X.ravel(), [0.125, 0.375, 0.625, 0.875])
    assert integer.inverse_transform(X) == [0, 1, 2, 3]
    # every integer owns an equal share of the unit interval
    grid = integer.inverse_transform(np.linspace(0, 1, 4001)[:, None])
    assert np.allclose(np.bincount(grid) / len(grid), 0.25, atol=1e-3)
    log_int = Integer(1, 1000, prior="log-uniform")
    assert log_int.inverse_transform([[0.0], [1.0]]) == [1, 1000]
    assert log_int.inverse_transform(log_int.transform([7, 70, 700])) == [7, 70, 700]


def test_inverse_transform_clips_and_rounds():
    assert Real(0.0, 1.0).inverse_transform([[-0.5], [1.5]]) == [0.0, 1.0]
    assert Integer(1, 4).inverse_transform([[-1.0], [2.0]]) == [1, 4]
    with pytest.raises(ValueError, match=r"shape \(n_samples, 1\)"):
        Real(0.0, 1.0).inverse_transform(np.zeros((2, 2)))


def test_rvs_returns_native_python_values():
    space = Space({
        "lr": (1e-4, 1e-1, "log-uniform"), "n": (1, 20), "act": ["relu", None, (64, 32)],
        "shift": scipy.stats.norm(0, 1), "k": scipy.stats.poisson(4),
    })
    points = space.rvs(200, random_state=0)
    assert all(type(p["lr"]) is float and 1e-4 <= p["lr"] <= 1e-1 for p in points)
    assert all(type(p["n"]) is int and 1 <= p["n"] <= 20 for p in points)
    assert all(type(p["k"]) is int for p in points)
    assert {p["n"] for p in points} == set(range(1, 21))
    acts = [p["act"] for p in points]
    assert {type(a) for a in acts} == {str, type(None), tuple}
    assert space.rvs(5, random_state=3) == space.rvs(5, random_state=3)
    assert space.rvs(5, random_state=3) != space.rvs(5, random_state=4)
    # log-uniform: about half of the draws below the geometric midpoint
    below = np.mean([p["lr"] < math.sqrt(1e-4 * 1e-1) for p in points])
    assert 0.35 < below < 0.65


def test_categorical_keeps_arbitrary_objects():
    svc, logreg = SVC(), LogisticRegression()
    categories = [(32,), (64, 32), None, "relu", 3, 3.0, True, svc, logreg, [1, 2], {"a": 1}]
    dim = Categorical(categories)
    assert dim.n_categories == len(categories)
    X = dim.transform(categories)
    np.testing.assert_array_equal(X, np.eye(len(categories)))
    back = dim.inverse_transform(X)
    for original, returned in zip(categories, back):
        assert returned is original
    # equal values of another type still find their category
    assert dim.inverse_transform(dim.transform([np.int64(3)])) == [3]
    assert type(dim.inverse_transform(dim.transform([3.0]))[0]) is float
    assert dim.inverse_transform(dim.transform([True]))[0] is True
    # numpy arrays as categories never raise on comparison
    arrays = Categorical([np.zeros(2), np.ones(2)])
    assert arrays.index(arrays.categories[1]) == 1


def test_categorical_of_tuples_does_not_break_them():
    # scikit-optimize's Categorical([(32,), (64, 32)]) crashes in np.array
    dim = Categorical([(32,), (64, 32)])
    assert dim.rvs(20, random_state=0).count((64, 32)) > 0
    assert set(dim.rvs(20, random_state=0)) == {(32,), (64, 32)}


def test_space_round_trip_with_mixed_dimensions():
    space = Space({
        "lr": (1e-5, 1.0, "log-uniform"), "units": (1, 512, "log-uniform"),
        "hidden": [(32,), (64, 32), None], "est": [SVC(), LogisticRegression()],
        "dropout": (0.0, 0.5), "shift": scipy.stats.norm(0, 1),
    })
    assert space.n_dims == 6
    assert space.n_columns == 1 + 1 + 3 + 2 + 1 + 1
    points = space.rvs(50, random_state=1)
    X = space.transform(points)
    assert X.shape == (50, space.n_columns)
    assert X.min() >= 0.0 and X.max() <= 1.0
    back = space.inverse_transform(X)
    for p, q in zip(points, back):
        assert p["units"] == q["units"] and p["hidden"] == q["hidden"]
        assert p["est"] is q["est"]
        assert p["lr"] == pytest.approx(q["lr"], rel=1e-12)
        assert p["shift"] == pytest.approx(q["shift"], rel=1e-9, abs=1e-12)
    # a single dict works too
    assert space.transform(points[0]).shape == (1, space.n_columns)


def test_space_finite_size_and_snap():
    space = Space({"a": (1, 3), "b": ["x", "y"]})
    assert space.n_points == 6
    assert Space({"a": (0.0, 1.0), "b": ["x"]}).n_points == math.inf
    snapped = space._snap([[0.49, 0.2, 0.9]])
    assert space.inverse_transform(snapped) == [{"a": 2, "b": "y"}]


def test_repr_and_equality():
    assert repr(Real(0.0, 1.0, name="p")) == "Real(low=0.0, high=1.0, prior='uniform', name='p')"
    assert repr(Categorical([(1, 2), None])) == "Categorical(categories=[(1, 2), None])"
    assert "norm(0, 1)" in repr(Distribution(scipy.stats.norm(0, 1)))
    assert Real(0, 1) == Real(0.0, 1.0)
    assert Real(0, 1) != Real(0, 1, prior="uniform", name="x")
    assert Integer(0, 1) != Real(0, 1)
    assert Categorical([1, 2]) != Categorical([1.0, 2.0])
    assert Space({"a": (0, 1)}) == Space({"a": Integer(0, 1)})
    assert "Space({'a': Integer(low=0, high=1" in repr(Space({"a": (0, 1)}))


# -- parse_search_spaces --------------------------------------------------------------


def test_parse_search_spaces_forms():
    one = parse_search_spaces({"C": (1e-3, 1e3, "log-uniform")})
    assert len(one) == 1 and one[0][1] is None and one[0][0].names == ["C"]
    several = parse_search_spaces([{"C": (0.1, 1.0)}, {"gamma": ["scale", "auto"]}])
    assert [(s.names, n) for s, n in several] == [(["C"], None), (["gamma"], None)]
    pairs = parse_search_spaces([({"C": (0.1, 1.0)}, 15), {"k": [1, 2]}, (Space({"a": [1]}), 3)])
    assert [n for _, n in pairs] == [15, None, 3]
    assert parse_search_spaces(Space({"a": [1]}))[0][0] == Space({"a": [1]})


@pytest.mark.parametrize(
    "spaces, error, message",
    [
        ([], ValueError, "empty list"),
        ("C", TypeError, "must be a dict {name: dimension}, a list of dicts"),
        ([{"C": (0.1, 1.0)}, 5], TypeError, r"search_spaces\[1\] is 5"),
        ([({"C": (0.1, 1.0)}, 0)], ValueError, r"search_spaces\[0\] has n_iter=0"),
        ([({"C": (0.1, 1.0)}, 2.5)], ValueError, "positive integer"),
        ([{"C": (1.0, 0.1)}], ValueError, r"In search_spaces\[0\]: Parameter 'C' has low"),
    ],
)
def test_parse_search_spaces_errors(spaces, error, message):
    with pytest.raises(error, match=message):
        parse_search_spaces(spaces)


def test_dimensions_are_distributions_of_sklearns_randomized_search():
    """scikit-learn's ParameterSampler calls ``rvs(random_state=rng)`` and wants one value."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import RandomizedSearchCV

    assert isinstance(Real(0.1, 1.0).rvs(random_state=0), float)
    assert Integer(1, 3).rvs(random_state=0) in (1, 2, 3)
    assert Categorical(["a", "b"]).rvs(random_state=0) in ("a", "b")
    X, y = load_iris(return_X_y=True)
    search = RandomizedSearchCV(
        LogisticRegression(max_iter=200),
        {"C": Real(1e-2, 1e2, prior="log-uniform"), "fit_intercept": Categorical([True, False])},
        n_iter=4, cv=2, random_state=0).fit(X, y)
    drawn = [p["C"] for p in search.cv_results_["params"]]
    assert len(set(drawn)) == 4 and all(1e-2 <= c <= 1e2 for c in drawn)
