"""Render docs/img/tensorboard-hparams.png: TensorBoard's HParams table of a real search.

A ``BayesSearchCV`` of 12 candidates on digits is logged with
``TensorBoardLogger``, a TensorBoard server is started on a free loopback port,
and Debian's chromium (through Playwright, as in the report tests) opens its
HParams tab and takes the screenshot. Usage::

    python docs/img/make_hparams_screenshot.py [OUT.png]
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from sklearn.datasets import load_digits

from sktune import BayesSearchCV, NeuralNetClassifier
from sktune.tracking import TensorBoardLogger

HERE = os.path.dirname(os.path.abspath(__file__))


def log_search(root):
    X, y = load_digits(return_X_y=True)
    net = NeuralNetClassifier(epochs=8, validation_fraction=0.2, random_state=0)
    search = BayesSearchCV(net, {"lr": (1e-4, 3e-2, "log-uniform"),
                                 "hidden_layer_sizes": [(32,), (64,), (128, 64)],
                                 "dropout": (0.0, 0.4)},
                           n_iter=12, n_points=2, cv=3, n_jobs=2, random_state=0)
    search.set_callbacks(TensorBoardLogger(root, name="digits")).fit(X / 16, y)


def main(out=os.path.join(HERE, "tensorboard-hparams.png")):
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as root:
        log_search(root)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", root,
                                   "--host", "127.0.0.1", "--port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(120):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/data/runs", timeout=2)
                    break
                except OSError:
                    time.sleep(0.5)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                            args=["--disable-gpu", "--no-first-run"])
                page = browser.new_page(viewport={"width": 1500, "height": 820})
                page.goto(f"http://127.0.0.1:{port}/#hparams", wait_until="networkidle")
                page.wait_for_selector("text=cv/mean_test_score", timeout=60_000)
                time.sleep(2)
                page.screenshot(path=out)
                browser.close()
        finally:
            server.kill()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
