"""Shared fixtures of the report tests: small fitted searches and a headless browser.

The browser is Debian's chromium (``/usr/bin/chromium``, installed by
``make test``), driven by Playwright for Python through ``executable_path``:
Playwright's own browser download is never used. It loads a report, records
console messages, uncaught exceptions and every network request, checks the
images and takes a screenshot. See docs/reports.md.
"""

import os
import shutil

import numpy as np
import pytest
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVC

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "/usr/bin/chromium")
# Chromium's own background traffic (updates, sync, field trials) stays off: the
# test counts every request the page makes, and this machine has no network.
CHROMIUM_ARGS = ("--disable-gpu", "--disable-quic", "--no-first-run",
                 "--no-default-browser-check", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-extensions",
                 "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio")


def find_chromium():
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Chromium:
    """A headless chromium driven by Playwright; :meth:`load` reports what a page did.

    Use as a context manager. Each :meth:`load` opens a fresh browser context
    (no cache or storage shared between pages) with a ``width`` x ``height``
    viewport at device scale 1.
    """

    def __init__(self, executable, width=1366, height=900, timeout=60):
        from playwright.sync_api import sync_playwright

        self.width, self.height, self.timeout_ms = width, height, timeout * 1000
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(
                executable_path=executable, headless=True, args=list(CHROMIUM_ARGS),
                timeout=self.timeout_ms)
        except Exception as exc:
            self._playwright.stop()
            from importlib.metadata import version

            raise RuntimeError(f"Playwright {version('playwright')} could not launch "
                               f"{executable}: {exc}") from exc

    def load(self, url, screenshot=None, boxes=()):
        """Open ``url``; return images, console errors, requests and page size, and
        ``boxes``: the page's bounding box ``(x, y, width, height)`` of the first
        element matching each CSS selector of ``boxes`` (None when none does)."""
        context = self._browser.new_context(
            viewport={"width": self.width, "height": self.height}, device_scale_factor=1)
        try:
            page = context.new_page()
            page.set_default_timeout(self.timeout_ms)
            errors, requests = [], []
            page.on("console", lambda message: errors.append(message.text)
                    if message.type in ("error", "assert") else None)
            page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(url, wait_until="load")
            state = page.evaluate(_PAGE_STATE)
            state["boxes"] = {}
            for selector in boxes:
                found = page.query_selector(selector)
                box = found.bounding_box() if found is not None else None
                state["boxes"][selector] = None if box is None else (
                    box["x"], box["y"], box["width"], box["height"])
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=True,
                                clip={"x": 0, "y": 0, "width": self.width,
                                      "height": state["height"]})
        finally:
            context.close()
        state["console_errors"] = errors
        state["requests"] = requests
        return state

    def close(self):
        try:
            self._browser.close()
        finally:
            self._playwright.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# Run in the page after "load": every image decoded? page size? overflow?
_PAGE_STATE = """
async () => {
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  return {
    images: imgs.length,
    loaded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt),
    width: document.documentElement.scrollWidth,
    height: Math.ceil(document.documentElement.scrollHeight),
    title: document.title,
  };
}
"""


@pytest.fixture(scope="session")
def chromium():
    """A headless chromium; skipped (failed on CI) when it or Playwright is missing."""
    executable = find_chromium()
    missing = None
    if executable is None:
        missing = ("chromium is not installed; the browser test of the HTML report needs "
                   "it: apt-get install -y chromium (make test does it as root)")
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = ("Playwright is not installed; the browser test of the HTML report "
                       "needs it: pip install -e '.[dev]'")
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(missing + " (CI must install it)")
        pytest.skip(missing)
    with Chromium(executable) as browser:
        yield browser


# -- small fitted searches ----------------------------------------------------------------------
@pytest.fixture(scope="session")
def iris():
    X, y = load_iris(return_X_y=True)
    rng = np.random.default_rng(0)
    index = rng.permutation(len(y))
    train, test = index[:100], index[100:]
    return X[train], y[train], X[test], y[test]


@pytest.fixture(scope="session")
def grid_search(iris):
    X, y, _, _ = iris
    return GridSearchCV(SVC(), {"C": [0.01, 0.1, 1, 10, 100], "kernel": ["linear", "rbf"]},
                        cv=3).fit(X, y)


@pytest.fixture(scope="session")
def binary_data():
    X, y = make_classification(n_samples=160, n_features=6, n_informative=3, random_state=0)
    return X[:120], y[:120], X[120:], y[120:]


@pytest.fixture(scope="session")
def regression_data():
    X, y = make_regression(n_samples=160, n_features=5, noise=5.0, random_state=0)
    return X[:120], y[:120], X[120:], y[120:]


@pytest.fixture(scope="session")
def regression_search(regression_data):
    X, y, _, _ = regression_data
    return GridSearchCV(Ridge(), {"alpha": np.logspace(-3, 3, 7)}, cv=3,
                        return_train_score=True).fit(X, y)


@pytest.fixture(scope="session")
def binary_search(binary_data):
    X, y, _, _ = binary_data
    return GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.01, 0.1, 1, 10]},
                        cv=4).fit(X, y)


@pytest.fixture(scope="session")
def bayes_net_search(iris):
    """An sktune network tuned by BayesSearchCV: every fit's curves are kept."""
    from sktune import BayesSearchCV, NeuralNetClassifier

    X, y, _, _ = iris
    net = NeuralNetClassifier(epochs=8, validation_fraction=0.2, random_state=0)
    space = {"lr": (1e-4, 1e-1, "log-uniform"), "hidden_layer_sizes": [(8,), (16,)],
             "dropout": (0.0, 0.5)}
    return BayesSearchCV(net, space, n_iter=10, cv=2, random_state=0).fit(X, y)


@pytest.fixture(scope="session")
def net_search(iris):
    """A tiny sktune network search: its refitted best model has a history_."""
    from sktune import NeuralNetClassifier

    X, y, _, _ = iris
    net = NeuralNetClassifier(epochs=6, validation_fraction=0.2, random_state=0)
    grid = {"lr": [1e-3, 1e-2, 3e-2], "hidden_layer_sizes": [(8,), (16,)]}
    return GridSearchCV(net, grid, cv=2).fit(X, y)
