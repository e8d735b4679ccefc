"""Regenerate docs/img/report.png: a real report, rendered by headless chromium.

Run from the repository root (needs chromium and the report extras):

    .venv/bin/python docs/img/make_report_png.py

It tunes an sktune network on digits with BayesSearchCV (about a minute on
two cores), writes the report, screenshots it at 1366 px with the browser
driver of the tests (tests/report/conftest.py) and keeps the top of the page,
scaled and palettised to stay small (report.png), and the panels that explain
the search, from the partial dependence to every candidate's training curves
(report-explain.png).
"""

import pathlib
import sys
import tempfile

from PIL import Image
from sklearn.datasets import load_digits

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "report"))

from conftest import Chromium, find_chromium  # noqa: E402

from sktune import BayesSearchCV, NeuralNetClassifier  # noqa: E402
from sktune.report import cv_report  # noqa: E402

X, y = load_digits(return_X_y=True)
X = X / 16
search = BayesSearchCV(
    NeuralNetClassifier(epochs=15, validation_fraction=0.15, random_state=0),
    {"lr": (1e-4, 3e-2, "log-uniform"), "hidden_layer_sizes": [(32,), (64,), (128, 64)],
     "dropout": (0.0, 0.5), "batch_size": [32, 64, 128]},
    n_iter=14, cv=3, n_jobs=2, random_state=0,
).fit(X[:1200], y[:1200])
report = cv_report(search, X[1200:], y[1200:])



def _save(image, name):
    small = image.resize((1000, round(image.height * 1000 / image.width)), Image.LANCZOS)
    small.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(
        ROOT / "docs" / "img" / name, optimize=True)
    print(f"wrote docs/img/{name}")


with tempfile.TemporaryDirectory() as tmp:
    page, shot = pathlib.Path(tmp, "report.html"), pathlib.Path(tmp, "report.png")
    report.to_html(page)
    with Chromium(find_chromium()) as browser:
        state = browser.load(page.as_uri(), screenshot=shot,
                             boxes=("#skr-params", "#skr-pairs", "#skr-curves"))
    image = Image.open(shot).convert("RGB")
    _save(image.crop((0, 0, 1366, min(image.height, 2350))), "report.png")
    # the panels that explain the search: partial dependence, pairs, curves
    boxes = [b for b in state["boxes"].values() if b is not None]
    top = min(y for _, y, _, _ in boxes) - 10
    bottom = max(y + h for _, y, _, h in boxes) + 10
    _save(image.crop((0, int(top), 1366, int(bottom))), "report-explain.png")
