"""Helpers for the browser test (tests/test_browser.py): a JupyterLab server and Debian's Chromium.

Also a small pytest plugin, loaded by ``pytest_plugins`` in test_browser.py: it registers the
``browser`` marker and puts it on that module's tests, so ``pytest -m browser`` selects them and
``pytest -m "not browser"`` leaves them out.

Nothing here prints: the server's output goes to a log file, which the test copies next to its
screenshots in ``test-artifacts/browser/``.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "browser"

# Debian's chromium, headless, as root, on a machine whose only network is the loopback.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# JupyterLab settings for the test's fresh user: no "get Jupyter news?" toast over the notebook.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}


# --- pytest plugin: the ``browser`` marker -------------------------------------------------------

def pytest_configure(config):
    config.addinivalue_line("markers", "browser: end-to-end test in a real browser (Chromium + Playwright)")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    # tryfirst: the marker must be there before ``-m`` deselects by it.
    for item in items:
        if item.path.name == "test_browser.py":
            item.add_marker("browser")


# --- what the test needs from the machine --------------------------------------------------------

def missing_requirement():
    """Why the browser test cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (pip install -e '.[dev]')"
    if shutil.which("chromium") is None:
        return ("Debian's chromium is not on PATH (apt-get install chromium, or `make browser-deps`); "
                "Playwright's own browser download is not used")
    return None


def launch_chromium(playwright, profile_dir, **context_options):
    """A persistent context (a fresh profile in ``profile_dir``) in Debian's chromium."""
    return playwright.chromium.launch_persistent_context(
        str(profile_dir), executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS, **context_options)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- a JupyterLab server of the test's own --------------------------------------------------------

class JupyterLab:
    """``python -m jupyterlab`` on 127.0.0.1 with a known token and a private config.

    ``cwd`` is where the server starts (nbgrader's formgrader reads ``nbgrader_config.py``
    there); the server's root is ``cwd`` too, as with ``make lab``. Use as a context manager:
    the server, and the kernels it started, are stopped on the way out, whatever happened.
    """

    token = "introdl-browser-test"

    def __init__(self, cwd, state_dir, *, start_timeout=90):
        self.cwd = Path(cwd)
        self.state = Path(state_dir)
        self.start_timeout = start_timeout
        self.log_path = self.state / "server.log"
        self.process = None
        self.port = None

    def url(self, path="/", *, token=False):
        url = f"http://127.0.0.1:{self.port}{path}"
        return f"{url}{'&' if '?' in url else '?'}token={self.token}" if token else url

    def __enter__(self):
        settings = self.state / "lab-settings"
        for name, value in LAB_SETTINGS.items():
            (settings / name).parent.mkdir(parents=True, exist_ok=True)
            (settings / name).write_text(json.dumps(value))
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(self.state / "config"),
            JUPYTER_RUNTIME_DIR=str(self.state / "runtime"),
            IPYTHONDIR=str(self.state / "ipython"),
            JUPYTER_PREFER_ENV_PATH="1",  # the environment's python3 kernel, as `make lab` does
            # nbgrader's gradebook runs the `alembic` command: the environment's bin/ goes first.
            PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
            PYDEVD_DISABLE_FILE_VALIDATION="1",
        )
        for attempt in range(3):  # another process may take the free port before the server does
            self.port = free_port()
            command = [
                sys.executable, "-m", "jupyterlab",
                "--ServerApp.open_browser=False",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={self.port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={self.token}",
                "--ServerApp.allow_root=True",
                f"--ServerApp.root_dir={self.cwd}",
                f"--LabApp.user_settings_dir={settings}",
                f"--LabApp.workspaces_dir={self.state / 'workspaces'}",
            ]
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(
                    command, cwd=self.cwd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True)
            try:
                self._wait_until_ready()
                return self
            except _ServerExited:
                if attempt == 2 or "already in use" not in self.log_path.read_text(errors="replace"):
                    self._fail("the JupyterLab server exited at start")
            except BaseException:
                self.stop()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def __exit__(self, *exc):
        self.stop()

    def api(self, method, path):
        request = urllib.request.Request(self.url(path), method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def _wait_until_ready(self):
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise _ServerExited
            try:
                self.api("GET", "/api/status")
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)  # polling a condition (the server answers), not a fixed wait
        self.stop()
        self._fail(f"the JupyterLab server did not answer within {self.start_timeout} s")

    def _fail(self, what):
        tail = self.log_path.read_text(errors="replace")[-3000:]
        pytest.fail(f"{what}; the end of its log ({self.log_path}):\n{tail}", pytrace=False)

    def stop(self):
        """Ask the server to shut down (it stops its kernels); kill its process group if it won't."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.api("POST", "/api/shutdown")
            self.process.wait(timeout=20)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError, subprocess.TimeoutExpired):
            pass
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue


class _ServerExited(Exception):
    pass
