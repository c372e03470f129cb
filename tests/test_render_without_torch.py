"""A render-only build (the Pages workflow's: `pip install -e .`, no torch) works from frozen
results: here in a Python where `import torch` and `import torchvision` fail. This venv still
has the test tools, so a render dependency missing from `dependencies` goes unseen here:
tests/test_pages.py builds with a real render-only venv, made by the workflow's own steps."""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCKER = '''
import sys

class _NoTorch:
    """A meta-path finder that makes torch and torchvision unimportable."""
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchvision"):
            raise ImportError(f"{name} is blocked: this is a render-only environment")
        return None

sys.meta_path.insert(0, _NoTorch())
'''


def test_frozen_build_renders_where_torch_cannot_be_imported(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCKER)
    env = {**os.environ, "PYTHONPATH": str(blocker), "TQDM_DISABLE": "1"}
    probe = subprocess.run([sys.executable, "-c", "import torch"], env=env,
                           capture_output=True, text=True)
    assert probe.returncode != 0 and "blocked" in probe.stderr  # the blocker works

    out = tmp_path / "public"
    flags = shlex.split(os.environ.get("ONPOLICY_TEST_SITE_FLAGS", "--frozen"))
    proc = subprocess.run([sys.executable, "build.py", *flags, "--out", str(out)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (out / "index.html").is_file()
    assert "blocked" not in proc.stderr


def test_render_install_has_no_torch_and_training_install_pins_it():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"])
    assert "torch" not in base, "the render-only install (pip install -e .) must not pull torch"
    train = project["optional-dependencies"]["train"]
    assert "torch==2.14.1" in train and "torchvision==0.29.1" in train
    makefile = (ROOT / "Makefile").read_text()
    assert "'.[train,test]'" in makefile  # make install still installs the training deps
    pages = (ROOT / ".github/workflows/pages.yml").read_text()
    assert "make install-render" in pages and "make install\n" not in pages
