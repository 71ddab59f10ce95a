"""Real-browser test harness: JupyterLab and Voila driven by headless Debian Chromium (Playwright, sync API).

Fixtures
--------
``lab``             a JupyterLab server on a free loopback port, root ``notebooks/`` (session-wide).
``lab_factory``     ``lab_factory(root_dir)`` -> a JupyterLab server for any folder (cached per folder).
``voila_factory``   ``voila_factory(notebook_path)`` -> a running Voila serving that one notebook.
``browser``         the shared headless Chromium.
``page``            a fresh Playwright page (own context) closed after the test.

Typical use::

    def test_x(lab, page):
        lab.open_notebook(page, "00_tour.ipynb")
        lab.run_all_cells(page)
        lab.screenshot(page, "tour")
        assert not lab.error_outputs(page)

Every test in this folder is marked ``browser``. It is skipped (with the reason) when
/usr/bin/chromium or the playwright package is missing, except under CI=true, where
``make test`` installs both, so a missing one is an error.
Screenshots and server logs go to ``test-artifacts/browser/`` (gitignored), or to
``$LOSSVIZ_TEST_ARTIFACTS`` if set. Never run ``playwright install``: we use Debian's Chromium.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
ARTIFACTS_DIR = Path(os.environ.get("LOSSVIZ_TEST_ARTIFACTS", REPO_ROOT / "test-artifacts")) / "browser"
CHROMIUM = os.environ.get("LOSSVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
VENV_BIN = Path(sys.executable).parent

SERVER_START_TIMEOUT = 60  # s
KERNEL_READY_TIMEOUT = 30_000  # ms
RUN_ALL_TIMEOUT = 120_000  # ms

STDERR_SELECTOR = (
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], '
    '.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]'
)
ERROR_WORDS = re.compile(r"Error|Traceback")


# --------------------------------------------------------------------------- marking / skipping


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def _missing_requirements() -> list[str]:
    missing = []
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        missing.append(f"{CHROMIUM} not found (apt-get install chromium; `make browser-deps` does it)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright Python package is not installed (pip install -e '.[dev]')")
    return missing


@pytest.fixture(scope="session")
def _browser_requirements():
    missing = _missing_requirements()
    if missing:
        reason = "browser tests need: " + "; ".join(missing)
        if IN_CI:
            pytest.fail("CI=true but " + reason, pytrace=False)
        pytest.skip(reason)


# --------------------------------------------------------------------------- helpers


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env(home: Path) -> dict[str, str]:
    """Environment for a Jupyter/Voila server isolated from the user's config and state."""
    env = dict(os.environ)
    # `make test` exports MPLBACKEND=Agg; kernels started by the servers must keep the
    # inline backend so figures render as images in the page.
    env.pop("MPLBACKEND", None)
    env.update(
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"),
        JUPYTER_PLATFORM_DIRS="1",
        PYTHONUNBUFFERED="1",
    )
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def _wait_for_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = SERVER_START_TIMEOUT):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}; log:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError) as e:  # not listening yet
            last = e
        time.sleep(0.25)
    raise RuntimeError(f"server not answering {url} after {timeout}s ({last}); log:\n{_tail(log)}")


def _tail(path: Path, n: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def _stop(proc: subprocess.Popen, shutdown_url: str | None = None):
    """Stop a server we started (and its kernels) by its PID / process group."""
    if proc.poll() is None and shutdown_url:
        try:
            urllib.request.urlopen(urllib.request.Request(shutdown_url, method="POST", data=b""), timeout=5)
            proc.wait(timeout=10)
        except Exception:
            pass
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    try:  # anything else left in the server's process group (kernels get their own: shut down above)
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


# --------------------------------------------------------------------------- JupyterLab


class JupyterLab:
    """A running JupyterLab server plus helpers to drive a notebook in a Playwright page."""

    def __init__(self, root_dir: Path):
        self.root_dir = Path(root_dir).resolve()
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._home = Path(tempfile.mkdtemp(prefix="lossviz-lab-"))
        settings = self._home / "settings"
        notif = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        notif.parent.mkdir(parents=True)
        # No "Would you like to get notified about official Jupyter news?" toast over the page.
        notif.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = ARTIFACTS_DIR / f"jupyterlab-{self.port}.log"
        cmd = [
            str(VENV_BIN / "jupyter"), "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={self._home / 'workspaces'}",
            "--LabApp.expose_app_in_browser=True",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            cmd, cwd=self.root_dir, env=_server_env(self._home), stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            _wait_for_http(f"{self.base_url}/api/status?token={self.token}", self.proc, self.log_path)
        except Exception:
            self.stop()
            raise

    def stop(self):
        _stop(self.proc, f"{self.base_url}/api/shutdown?token={self.token}")
        self._log.close()
        shutil.rmtree(self._home, ignore_errors=True)

    # -- driving a notebook ------------------------------------------------------------------

    def open_notebook(self, page, relpath: str, timeout: float = KERNEL_READY_TIMEOUT):
        """Open ``relpath`` (relative to the server root) and wait until its Python kernel is idle."""
        from playwright.sync_api import expect

        if not (self.root_dir / relpath).is_file():
            raise FileNotFoundError(f"{self.root_dir / relpath} does not exist")
        url = f"{self.base_url}/lab/tree/{quote(relpath)}?token={self.token}&reset"
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_function("() => window.jupyterapp !== undefined", timeout=timeout)
        # The execution indicator says "idle" before a kernel is attached: also wait for the kernel name.
        kernel_name = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar-kernelName").first
        try:
            expect(kernel_name).to_contain_text("Python 3", timeout=timeout)
        except AssertionError:
            self._accept_kernel_dialog(page)
            expect(kernel_name).to_contain_text("Python 3", timeout=timeout)
        self.wait_idle(page, timeout=timeout)
        return page

    def _accept_kernel_dialog(self, page):
        """A notebook without kernelspec metadata pops "Select Kernel": take the default."""
        dialog = page.locator(".jp-Dialog")
        if dialog.count():
            dialog.locator(".jp-mod-accept").first.click()

    def wait_idle(self, page, timeout: float = RUN_ALL_TIMEOUT):
        page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').first.wait_for(timeout=timeout)
        page.get_by_text(re.compile(r"\|\s*Idle")).first.wait_for(timeout=timeout)

    def run_all_cells(self, page, timeout: float = RUN_ALL_TIMEOUT) -> bool:
        """Run all cells; wait for them to finish and the kernel to be idle.

        Returns JupyterLab's own verdict (False if a cell raised, which stops the run).
        """
        ok = page.evaluate(
            """async (ms) => {
                const run = window.jupyterapp.commands.execute('notebook:run-all-cells');
                const late = new Promise((_, reject) =>
                    setTimeout(() => reject(new Error('run-all-cells took longer than ' + ms + ' ms')), ms));
                return await Promise.race([run, late]);
            }""",
            timeout,
        )
        self.wait_idle(page, timeout=timeout)
        page.wait_for_timeout(300)  # let widget views and images attach
        return bool(ok)

    def run_notebook(self, page, relpath: str, screenshot: str | None = None) -> bool:
        """open_notebook + run_all_cells + screenshot (named after the notebook unless given)."""
        self.open_notebook(page, relpath)
        ok = self.run_all_cells(page)
        self.screenshot(page, screenshot or Path(relpath).stem)
        return ok

    # -- looking at the result -----------------------------------------------------------------

    @staticmethod
    def screenshot(page, name: str) -> Path:
        return take_screenshot(page, name)

    @staticmethod
    def screenshot_element(locator, name: str) -> Path:
        return take_element_screenshot(locator, name)

    @staticmethod
    def error_outputs(page) -> list[str]:
        """Texts of stderr/error outputs that mention an Error or a Traceback."""
        texts = page.locator(STDERR_SELECTOR).all_inner_texts()
        return [t for t in texts if ERROR_WORDS.search(t)]

    @staticmethod
    def output_count(page) -> int:
        return page.locator(".jp-OutputArea-output").count()


def _artifact(name: str) -> Path:
    """Where the screenshot ``name`` goes: ARTIFACTS_DIR/<name>.png (made safe for a file name)."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"


def take_screenshot(page, name: str) -> Path:
    path = _artifact(name)
    page.screenshot(path=str(path))
    return path


def take_element_screenshot(locator, name: str) -> Path:
    """A screenshot of one element (a cell, an output, a panel) scrolled into view."""
    path = _artifact(name)
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(path))
    return path


# --------------------------------------------------------------------------- Voila


class Voila:
    """A running Voila serving one notebook at ``url`` (each page load gets its own kernel)."""

    def __init__(self, notebook: Path, extra_args: tuple[str, ...] = ()):
        self.notebook = Path(notebook).resolve()
        if not self.notebook.is_file():
            raise FileNotFoundError(f"{self.notebook} does not exist")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self._home = Path(tempfile.mkdtemp(prefix="lossviz-voila-"))
        ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = ARTIFACTS_DIR / f"voila-{self.port}.log"
        cmd = [
            str(VENV_BIN / "voila"), str(self.notebook),
            "--no-browser",
            "--Voila.ip=127.0.0.1",
            f"--port={self.port}",
            "--show_tracebacks=True",
            *extra_args,
        ]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            cmd, cwd=self.notebook.parent, env=_server_env(self._home), stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            self._wait_listening()
        except Exception:
            self.stop()
            raise

    def _wait_listening(self, timeout: float = SERVER_START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"voila exited with code {self.proc.returncode}; log:\n{_tail(self.log_path)}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.25)
        raise RuntimeError(f"voila not listening on {self.port} after {timeout}s; log:\n{_tail(self.log_path)}")

    def open(self, page, timeout: float = RUN_ALL_TIMEOUT):
        """Load the app and wait until Voila has executed every cell and shown the outputs."""
        response = page.goto(self.url, wait_until="commit", timeout=timeout)
        if response is None or response.status != 200:
            raise AssertionError(f"voila answered {response and response.status} for {self.url}")
        page.locator("#rendered_cells").wait_for(state="visible", timeout=timeout)
        page.wait_for_load_state("load", timeout=timeout)
        page.wait_for_timeout(500)  # widget views attach after the page's scripts have run
        return page

    @staticmethod
    def error_texts(page) -> list[str]:
        body = page.locator("body").inner_text()
        hits = [m.group(0) for m in re.finditer(r"[^\n]*(Traceback|There was an error when executing)[^\n]*", body)]
        hits += [t for t in page.locator(STDERR_SELECTOR).all_inner_texts() if ERROR_WORDS.search(t)]
        return hits

    @staticmethod
    def screenshot(page, name: str) -> Path:
        return take_screenshot(page, name)

    @staticmethod
    def screenshot_element(locator, name: str) -> Path:
        return take_element_screenshot(locator, name)

    def stop(self):
        _stop(self.proc)
        self._log.close()
        shutil.rmtree(self._home, ignore_errors=True)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def browser(_browser_requirements):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
    finally:
        pw.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture(scope="session")
def lab_factory(_browser_requirements):
    servers: dict[Path, JupyterLab] = {}

    def start(root_dir) -> JupyterLab:
        root = Path(root_dir).resolve()
        if root not in servers:
            servers[root] = JupyterLab(root)
        return servers[root]

    try:
        yield start
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(scope="session")
def lab(lab_factory):
    if not NOTEBOOKS_DIR.is_dir():
        pytest.fail(f"{NOTEBOOKS_DIR} does not exist", pytrace=False)
    return lab_factory(NOTEBOOKS_DIR)


@pytest.fixture
def voila_factory(_browser_requirements):
    started: list[Voila] = []

    def start(notebook, *extra_args) -> Voila:
        v = Voila(Path(notebook), tuple(extra_args))
        started.append(v)
        return v

    try:
        yield start
    finally:
        for v in started:
            v.stop()
