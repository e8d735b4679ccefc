"""Regenerate docs/img/report.png: a real report, rendered by headless chromium.

Run from the repository root (needs chromium and the report extras):

    .venv/bin/python docs/img/make_report_png.py

It tunes an sktune network on digits with BayesSearchCV (about a minute on
two cores), writes the report, screenshots it at 1366 px with the browser
driver of the tests (tests/report/conftest.py) and keeps the top of the page,
scaled and palettised to stay small.
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

with tempfile.TemporaryDirectory() as tmp:
    page, shot = pathlib.Path(tmp, "report.html"), pathlib.Path(tmp, "report.png")
    report.to_html(page)
    with Chromium(find_chromium()) as browser:
        browser.load(page.as_uri(), screenshot=shot)
    image = Image.open(shot).convert("RGB")
    top = image.crop((0, 0, 1366, min(image.height, 2350)))
    small = top.resize((1000, round(top.height * 1000 / 1366)), Image.LANCZOS)
    small.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(
        ROOT / "docs" / "img" / "report.png", optimize=True)
print("wrote docs/img/report.png")
