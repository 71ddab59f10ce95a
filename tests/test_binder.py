"""Binder: binder/ pins every runtime package, make test ran on those pins, and a fresh environment
built from binder/ alone (as repo2docker builds it) runs every notebook.

The fresh-environment test takes a few minutes (pip installs about 100 pinned packages); it is part
of ``make test`` because a Binder link that breaks is what a class meets first.
"""
from __future__ import annotations

import atexit
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
LOCK = BINDER / "requirements.txt"
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)$")


def _pins():
    pins, loose = {}, []
    for line in LOCK.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = PIN.match(line)
        if m:
            pins[m.group(1)] = m.group(2)
        else:
            loose.append(line)
    return pins, loose


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def test_binder_pins_exact_versions_of_every_runtime_dependency():
    import tomllib

    pins, loose = _pins()
    assert not loose, f"binder/requirements.txt has lines without an exact pin: {loose}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["classroom"]
    names = {_canonical(re.split(r"[<>=!~\[ ]", r, maxsplit=1)[0]) for r in wanted}
    pinned = {_canonical(n) for n in pins}
    assert names <= pinned, f"not pinned in binder/requirements.txt (run make lock): {sorted(names - pinned)}"
    assert (BINDER / "runtime.txt").read_text().strip().startswith("python-3.")
    assert "--no-deps" in (BINDER / "postBuild").read_text(), "postBuild must not let pip move a pinned package"


def test_the_test_environment_runs_the_pinned_versions():
    pins, _ = _pins()
    wrong = {}
    for name, version in pins.items():
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            have = None
        if have != version:
            wrong[name] = (version, have)
    assert not wrong, ("the test environment differs from binder/requirements.txt (pinned, installed): "
                       f"{wrong}; make test installs with the lock as constraints: re-run make")


# ---------------------------------------------------------------------- a fresh Binder environment
# Building it (pip installs about 100 pinned packages) takes a minute or two: it starts in the
# background as soon as collection ends, when this test is selected (tests/conftest.py calls
# start_binder_build), so it overlaps with the rest of the suite, and the test below waits for it.
_BUILD = {}


def start_binder_build():
    import tempfile

    if _BUILD or shutil.which("bash") is None or os.environ.get("LOSSVIZ_SKIP_BINDER_BUILD"):
        return
    where = Path(tempfile.mkdtemp(prefix="lossviz-binder-"))
    repo, venv = where / "repo", where / "env"
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(".venv*", ".git", "test-artifacts", "__pycache__",
                                                              "*.egg-info", ".pytest_cache", ".hypothesis",
                                                              "*.so", "build"))
    # what repo2docker does: the requirements, then postBuild, with the environment's python first on PATH
    script = (f"set -euo pipefail\n{sys.executable} -m venv {venv}\nexport PATH={venv}/bin:$PATH\n"
              f"python -m pip install --no-deps --no-compile -r {repo}/binder/requirements.txt\n"
              f"bash {repo}/binder/postBuild\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    log = open(where / "build.log", "w")
    _BUILD.update(where=where, repo=repo, venv=venv, log=where / "build.log",
                  proc=subprocess.Popen(["bash", "-c", script], cwd=where, env=env, stdout=log,
                                        stderr=subprocess.STDOUT))


def _cleanup():
    if _BUILD:
        if _BUILD["proc"].poll() is None:
            _BUILD["proc"].kill()
        shutil.rmtree(_BUILD["where"], ignore_errors=True)


atexit.register(_cleanup)


@pytest.fixture(scope="module")
def binder_env():
    if not _BUILD:
        pytest.skip("no bash, or LOSSVIZ_SKIP_BINDER_BUILD is set")
    code = _BUILD["proc"].wait(timeout=900)
    assert code == 0, f"building the Binder environment failed:\n{_BUILD['log'].read_text()[-4000:]}"
    return _BUILD


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_a_fresh_binder_environment_runs_every_notebook(binder_env, tmp_path):
    repo, venv = binder_env["repo"], binder_env["venv"]
    py = venv / "bin" / "python"
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)

    def run(*cmd):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done.stdout

    run(str(py), "-m", "pip", "check")
    frozen = run(str(py), "-m", "pip", "freeze", "--exclude-editable")
    pins, _ = _pins()
    have = {_canonical(m.group(1)): m.group(2) for m in map(PIN.match, frozen.split()) if m}
    assert {_canonical(k): v for k, v in pins.items()} == {k: v for k, v in have.items() if k != "lossviz"}
    imported = run(str(py), "-c", "import lossviz, sys; print(lossviz.__file__)")
    assert imported.strip().startswith(str(repo)), imported
    from lossviz.train import heads

    if heads._ctc_kernel is not None:  # this machine builds the CTC kernel, so postBuild must have built it too
        run(str(py), "-c", "import lossviz.train._ctc")

    # every notebook, run by nbval (from this environment) in a kernel of the Binder environment
    kernels = tmp_path / "jupyter"
    run(str(py), "-m", "ipykernel", "install", "--prefix", str(kernels), "--name", "lossviz-binder")
    notebooks = sorted((repo / "notebooks").glob("*.ipynb"))
    assert notebooks
    test_env = {**env, "JUPYTER_PATH": str(kernels / "share" / "jupyter"), "MPLBACKEND": "Agg",
                "PATH": os.environ["PATH"]}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
                           "--nbval-kernel-name", "lossviz-binder", *map(str, notebooks)],
                          cwd=repo, env=test_env, capture_output=True, text=True, timeout=1000)
    tail = done.stdout[-4000:]
    assert done.returncode == 0, f"the notebooks failed in the Binder environment:\n{tail}\n{done.stderr[-2000:]}"
    assert re.search(r"\d+ passed", tail)
