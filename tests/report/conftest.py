"""Shared fixtures of the report tests: small fitted searches and a headless browser.

The browser is Debian's chromium, driven through the Chrome DevTools Protocol
over ``--remote-debugging-pipe`` (two file descriptors carrying NUL-separated
JSON): standard library only, no driver binary, no websocket client and no
browser download. It loads a report, records console messages, uncaught
exceptions and every network request, checks the images and takes a
screenshot. See docs/reports.md.
"""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time

import numpy as np
import pytest
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVC

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "/usr/bin/chromium")


def find_chromium():
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Chromium:
    """A headless chromium page driven over the DevTools pipe.

    Use as a context manager; :meth:`load` opens a URL and returns what the
    page did.
    """

    def __init__(self, executable, width=1366, height=900, timeout=60):
        self.width, self.height, self.timeout = width, height, timeout
        self._profile = tempfile.mkdtemp(prefix="sktune-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_fds():  # the protocol pipe is fd 3 (commands) and 4 (replies)
            # os.dup gives non-inheritable copies, closed at exec; dup2 gives
            # inheritable 3 and 4 (copies first, in case a pipe end is 3 or 4).
            r, w = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(r, 3)
            os.dup2(w, 4)
            os.set_inheritable(3, True)  # dup2 onto itself keeps close-on-exec
            os.set_inheritable(4, True)

        self._log = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--disable-extensions",
             "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
             f"--user-data-dir={self._profile}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
            preexec_fn=wire_fds, close_fds=False,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events = []

    # -- protocol ------------------------------------------------------------------------
    def _send(self, method, params=None, session=None):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _read_message(self, deadline):
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError(f"chromium closed the DevTools pipe: {self.log_tail()}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def log_tail(self):
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-2000:]

    def call(self, method, params=None, session=None):
        try:
            wanted = self._send(method, params, session)
        except BrokenPipeError:
            raise RuntimeError(f"chromium is gone: {self.log_tail()}") from None
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._read_message(deadline)
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_for(self, method, deadline):
        for k, event in enumerate(self.events):
            if event["method"] == method:
                return self.events.pop(k)
        while True:
            message = self._read_message(deadline)
            if message.get("method") == method:
                return message
            if "method" in message:
                self.events.append(message)

    # -- high level ------------------------------------------------------------------------
    def load(self, url, screenshot=None):
        """Open ``url``; return images, console errors, requests and page size."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget",
                            {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=session)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1,
                   "mobile": False}, session=session)
        self.events.clear()
        self.call("Page.navigate", {"url": url}, session=session)
        self.wait_for("Page.loadEventFired", time.monotonic() + self.timeout)
        state = self.call("Runtime.evaluate", {"returnByValue": True, "awaitPromise": True,
                                               "expression": _PAGE_STATE}, session=session)
        page = state["result"]["value"]
        if screenshot is not None:
            shot = self.call("Page.captureScreenshot",
                             {"format": "png", "captureBeyondViewport": True,
                              "clip": {"x": 0, "y": 0, "width": self.width,
                                       "height": page["height"], "scale": 1}},
                             session=session)
            with open(screenshot, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        page["console_errors"] = [
            _describe_event(e) for e in self.events
            if (e["method"] == "Runtime.consoleAPICalled"
                and e["params"]["type"] in ("error", "assert"))
            or e["method"] == "Runtime.exceptionThrown"
            or (e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
        ]
        page["requests"] = [e["params"]["request"]["url"] for e in self.events
                            if e["method"] == "Network.requestWillBeSent"]
        self.call("Target.closeTarget", {"targetId": target})
        return page

    def close(self):
        try:
            self._send("Browser.close")
            self._proc.wait(timeout=10)
        except Exception:
            self._proc.kill()
            self._proc.wait()
        finally:
            self._log.close()
            os.close(self._to_browser)
            os.close(self._from_browser)
            shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# Run in the page after "load": every image decoded? page size? overflow?
_PAGE_STATE = """
(async () => {
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
})()
"""


def _describe_event(event):
    params = event["params"]
    if event["method"] == "Runtime.exceptionThrown":
        return params["exceptionDetails"].get("text", "exception")
    if event["method"] == "Log.entryAdded":
        return params["entry"].get("text", "")
    return " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])


@pytest.fixture(scope="session")
def chromium():
    """A headless chromium; skipped (failed on CI) when it is not installed."""
    executable = find_chromium()
    if executable is None:
        message = ("chromium is not installed; the browser test of the HTML report needs "
                   "it: apt-get install -y chromium")
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must install it)")
        pytest.skip(message)
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
def net_search(iris):
    """A tiny sktune network search: its refitted best model has a history_."""
    from sktune import NeuralNetClassifier

    X, y, _, _ = iris
    net = NeuralNetClassifier(epochs=6, validation_fraction=0.2, random_state=0)
    grid = {"lr": [1e-3, 1e-2, 3e-2], "hidden_layer_sizes": [(8,), (16,)]}
    return GridSearchCV(net, grid, cv=2).fit(X, y)
