"""`python build.py new SLUG` in a copy of the repository: the new article builds at once with
--quick (its example row trains on synthetic data), and a taken or invalid slug is refused
with one clear line."""
from __future__ import annotations

import json

import pytest

from tests.badinput import _copy_checkout, build

pytestmark = pytest.mark.slow

HOME = "---\ntitle: Home\ndescription: The home page.\n---\nWelcome.\n"


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = _copy_checkout(tmp_path_factory.mktemp("scaffold") / "repo")
    (repo / "site_src" / "index.md").write_text(HOME, encoding="utf-8")
    return repo


def test_new_article_builds_at_once_with_quick(repo):
    made = build(repo, "new", "demo-notes")
    assert made.returncode == 0, made.stderr
    folder = repo / "site_src" / "demo-notes"
    assert sorted(p.name for p in folder.iterdir()) == ["facts.py", "figures.py", "index.md"]
    assert '"demo-notes-example"' in (repo / "experiments" / "suite.py").read_text()
    assert "wrote site_src/demo-notes/index.md" in made.stdout

    built = build(repo, "--quick", "--only", "demo-notes-example", "--threads", "1",
                  "--device", "cpu")
    assert built.returncode == 0, built.stderr
    assert "1 trained" in built.stderr
    result = json.loads((repo / ".cache" / "quick" / "demo-notes-example.json").read_text())
    payload = result["result"]
    html = (repo / "public" / "demo-notes" / "index.html").read_text()
    accuracy = f"{payload['final_accuracy']['mean'] * 100:.1f}%"
    assert f"It got {accuracy} of the\nheld-out points right" in html
    assert f"for\n{payload['steps'][-1]} steps" in html
    chart = json.loads((repo / "public" / "data" / "charts" / "demo-notes-accuracy.json")
                       .read_text())
    assert [t["name"] for t in chart["data"]][-1] == "accuracy"
    assert not list((repo / "site_src").rglob("__pycache__"))


@pytest.mark.parametrize("slug, message", [
    ("index", "site_src/index.md already uses the name 'index'"),
    ("Bad_Slug", "'Bad_Slug' is not a valid slug"),
    ("9lives", "'9lives' is not a valid slug"),
])
def test_taken_or_invalid_slug_is_refused(repo, slug, message):
    proc = build(repo, "new", slug)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"error: {message}") and proc.stderr.count("\n") == 1, \
        proc.stderr
    assert "Traceback" not in proc.stderr


def test_existing_folder_is_refused_and_nothing_is_written(repo):
    (repo / "site_src" / "taken").mkdir()
    before = (repo / "experiments" / "suite.py").read_text()
    proc = build(repo, "new", "taken")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == "error: site_src/taken already exists: choose another slug"
    assert (repo / "experiments" / "suite.py").read_text() == before
