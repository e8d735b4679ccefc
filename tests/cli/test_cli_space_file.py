"""Search-space files (sktune.cli._space_file) and ``sktune tune --space``."""

import json

import pytest
import scipy.stats

from sktune import NeuralNetClassifier
from sktune.cli import main
from sktune.modules import ConvNet
from sktune.search.space import Categorical, Integer, Real
from sktune.cli._space_file import (SpaceFileError, default_space, parse_space,
                                      read_space_file, space_parameters)

PARAMS = space_parameters(NeuralNetClassifier())

YAML = """\
# a comment
lr: {low: 1e-4, high: 1e-1, prior: log-uniform}
hidden_layer_sizes: {categories: [[64], [128, 64]]}
batch_size: [32, 64]
dropout: {low: 0, high: 0.5, grid: [0, 0.25]}
epochs: {low: 2, high: 6}
activation: relu
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_yaml_file_gives_the_documented_dimensions(tmp_path):
    spec = parse_space(read_space_file(_write(tmp_path, "s.yaml", YAML)), PARAMS)
    dims = spec.dimensions
    assert dims["lr"] == Real(1e-4, 1e-1, prior="log-uniform", name="lr")  # 1e-4 is a float
    assert dims["hidden_layer_sizes"].categories == ((64,), (128, 64))
    assert dims["batch_size"] == Categorical([32, 64], name="batch_size")
    assert dims["dropout"] == Real(0.0, 0.5, name="dropout")  # ints, but dropout is a float
    assert dims["epochs"] == Integer(2, 6, name="epochs")
    assert dims["activation"].categories == ("relu",)
    assert spec.grid == {"dropout": [0.0, 0.25]}


def test_json_file_equals_yaml(tmp_path):
    content = {"lr": {"low": 1e-4, "high": 1e-1, "prior": "log-uniform"},
               "hidden_layer_sizes": {"categories": [[64], [128, 64]]}}
    from_json = parse_space(read_space_file(_write(tmp_path, "s.json", json.dumps(content))),
                            PARAMS)
    from_yaml = parse_space(read_space_file(_write(tmp_path, "s.yml", YAML)), PARAMS)
    for name in content:
        assert from_json.dimensions[name] == from_yaml.dimensions[name]


def test_forms_for_each_search(tmp_path):
    spec = parse_space(read_space_file(_write(tmp_path, "s.yaml", YAML)), PARAMS)
    bayes = spec.bayes("net__")
    assert bayes["net__lr"].name == "net__lr" and spec.dimensions["lr"].name == "lr"
    dists = spec.distributions("net__")
    assert isinstance(dists["net__lr"].dist, type(scipy.stats.loguniform(1, 2).dist))
    assert dists["net__lr"].support() == (1e-4, 1e-1)
    assert dists["net__epochs"].support() == (2, 6)  # randint(2, 7)
    assert dists["net__hidden_layer_sizes"] == [(64,), (128, 64)]
    grid = spec.grid_values("net__")
    assert grid["net__dropout"] == [0.0, 0.25]  # the file's grid
    assert grid["net__lr"] == pytest.approx([1e-4, 10 ** -2.5, 1e-1])  # geometric default
    assert grid["net__epochs"] == [2, 4, 6]
    assert spec.n_grid_points() == 3 * 2 * 2 * 2 * 3 * 1


def test_log_uniform_integer_for_random_search():
    spec = parse_space({"epochs": {"low": 1, "high": 100, "prior": "log-uniform"}}, PARAMS)
    dist = spec.distributions()["epochs"]
    draws = [dist.rvs(random_state=i) for i in range(200)]
    assert all(isinstance(d, int) and 1 <= d <= 100 for d in draws)
    assert sum(d <= 10 for d in draws) > 60  # log scale: half the mass below 10


def test_module_arguments_follow_the_model():
    assert "module__channels" not in PARAMS
    cnn = space_parameters(NeuralNetClassifier(module=ConvNet))
    assert {"module__channels", "module__input_shape"} <= set(cnn)
    assert "module__hidden_layer_sizes" not in cnn  # filled in by the estimator
    spec = parse_space({"module__input_shape": [[1, 8, 8]]}, cnn)
    assert spec.dimensions["module__input_shape"].categories == ((1, 8, 8),)


@pytest.mark.parametrize("model", ["mlp", "resmlp", "cnn"])
def test_default_spaces_are_valid(model):
    spec = parse_space(default_space(model), space_parameters(NeuralNetClassifier(module=ConvNet)))
    assert "epochs" not in spec.dimensions
    assert spec.n_grid_points() <= 12  # a grid search on the defaults stays small


@pytest.mark.parametrize("content, message", [
    ({"learning_rate": 0.1}, "unknown parameter 'learning_rate'. Valid parameters: activation,"),
    ({"net__lr": 0.1}, "Write 'lr': keys are the network's parameters, without a pipeline "
                       "prefix"),
    ({"lr": {"low": 0.1, "high": 0.01}}, "Parameter 'lr' has low=0.1 >= high=0.01"),
    ({"lr": {"low": 0, "high": 1, "prior": "log-uniform"}}, "Parameter 'lr' uses "
                                                            "prior='log-uniform' with low=0"),
    ({"lr": {"low": 1e-3, "high": 1, "prior": "log"}}, "Unknown prior 'log' for parameter 'lr'"),
    ({"lr": {"low": 1e-3}}, "parameter 'lr': a mapping needs low and high"),
    ({"lr": {"low": 1e-3, "high": 1, "step": 2}}, "parameter 'lr': unknown key(s) 'step'"),
    ({"lr": {"low": "a", "high": 1}}, "parameter 'lr': low must be a number"),
    ({"batch_size": []}, "parameter 'batch_size': an empty list"),
    ({"batch_size": [32, 32]}, "lists the category 32 more than once"),
    ({"lr": {"low": 1e-3, "high": 1e-1, "grid": [1.0]}}, "Value 1.0 of parameter 'lr' is "
                                                         "outside its bounds"),
    ({"batch_size": {"categories": [32, 64], "grid": [128]}}, "Value 128 of parameter "
                                                              "'batch_size' is not one of"),
    ({"epochs": {"low": 1.5, "high": 4, "type": "int"}}, "low=1.5 of parameter 'epochs' "
                                                          "must be an integer"),
])
def test_invalid_spaces_name_the_parameter(content, message):
    with pytest.raises(SpaceFileError) as info:
        parse_space(content, PARAMS, source="space file 's.yaml'")
    text = str(info.value)
    assert text.startswith("space file 's.yaml': ") and message in text, text


@pytest.mark.parametrize("name, text, message", [
    ("s.yaml", "lr: [0.1\n", "is not valid YAML"),
    ("s.json", "{lr: 1}", "is not valid JSON"),
    ("s.yaml", "- 1\n- 2\n", "must hold a non-empty mapping"),
    ("s.toml", "lr = 1", "must end in .yaml, .yml or .json"),
    ("s.yaml", "lr: !!python/object/apply:os.system ['true']\n", "is not valid YAML"),
])
def test_unreadable_space_files(tmp_path, name, text, message):
    with pytest.raises(SpaceFileError, match=message):
        read_space_file(_write(tmp_path, name, text))
    with pytest.raises(SpaceFileError, match="does not exist"):
        read_space_file(str(tmp_path / "missing.yaml"))


def test_tune_reports_a_bad_space_file_in_one_line(tmp_path, capsys):
    path = _write(tmp_path, "s.yaml", "lr: {low: 1, high: 0.1}\nwidth: [1]\n")
    assert main(["tune", "--data", "iris", "--space", path, "--quiet"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"sktune tune: error: space file {path!r}: Parameter 'lr' has "
                             "low=1 >= high=0.1")


def test_tune_with_a_space_file(tmp_path, capsys):
    path = _write(tmp_path, "s.yaml", "lr: {low: 1e-3, high: 1e-1, prior: log-uniform}\n"
                                      "hidden_layer_sizes: [[8], [16, 8]]\nepochs: 2\n")
    assert main(["tune", "--data", "iris", "--space", path, "--n-iter", "2", "--cv", "2",
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary["best_params"]) == {"lr", "hidden_layer_sizes", "epochs"}
    assert summary["best_params"]["epochs"] == 2
    assert summary["best_params"]["hidden_layer_sizes"] in ([8], [16, 8])


def test_print_space_is_a_valid_space_file(tmp_path, capsys):
    assert main(["tune", "--print-space", "--model", "resmlp"]) == 0
    path = _write(tmp_path, "default.yaml", capsys.readouterr().out)
    spec = parse_space(read_space_file(path), PARAMS)
    assert spec == parse_space(default_space("resmlp"), PARAMS)
