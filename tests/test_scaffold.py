"""`python build.py new SLUG` in a copy of the repository: the new article builds at once with
--quick (its example row trains on synthetic data), and a taken or invalid slug is refused
with one clear line."""
from __future__ import annotations

import json
import re
import shutil
import time

import pytest

from tests.badinput import ROOT, _copy_checkout, _env, _project_files, build

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


@pytest.fixture()
def full_repo(tmp_path):
    """A copy of the checkout with the real site (the article) and its frozen results."""
    repo = tmp_path / "repo"
    for rel in _project_files():
        if (ROOT / rel).is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, repo / rel)
    (repo / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    return repo


def test_readme_recipe_on_a_fresh_copy_offline_in_seconds(full_repo, tmp_path):
    """The README's recipe, `build.py new SLUG` then `build.py --quick`, with no MNIST to be
    had (MNIST_DIR is an empty folder): only the example row trains, in tiny runs; the
    article renders from the frozen results beside the new page."""
    no_mnist = tmp_path / "no-mnist"
    no_mnist.mkdir()
    env = {**_env(), "MNIST_DIR": str(no_mnist), "TQDM_DISABLE": "1"}
    assert build(full_repo, "new", "my-note").returncode == 0
    start = time.monotonic()
    built = build(full_repo, "--quick", "--threads", "1", "--device", "cpu", env=env)
    took = time.monotonic() - start
    assert built.returncode == 0, built.stderr[-3000:]
    assert "training 1 experiment(s): my-note-example" in built.stderr
    assert "1 trained" in built.stderr and took < 120, (took, built.stderr[-2000:])
    assert (full_repo / ".cache" / "quick" / "my-note-example.json").is_file()
    assert not (full_repo / "results" / "my-note-example.json").exists()
    public = full_repo / "public"
    assert (public / "my-note" / "index.html").is_file()
    article = (public / "why-policy-gradients-are-on-policy" / "index.html").read_text()
    assert "1 result(s) come from tiny runs" in article and "(my-note-example)" in article

    status = build(full_repo, "status", "--quick", env=env)
    assert re.search(r"^my-note-example +fresh .*--quick\)$", status.stdout, re.M), status.stdout
    assert re.search(r"^binary-supervised +fresh +inputs unchanged \(recorded ", status.stdout,
                     re.M)
    assert build(full_repo, "status", "--check", env=env).returncode == 3  # not frozen yet


def test_removing_a_scaffolded_article_as_documented(full_repo, tmp_path):
    """`new` prints how to remove the article; after doing so (but forgetting its result
    file), the site builds --frozen again and status names the file no row claims."""
    made = build(full_repo, "new", "gone-note")
    assert made.returncode == 0, made.stderr
    removal = next(line for line in made.stdout.splitlines() if "to remove" in line)
    assert "site_src/gone-note/" in removal and "'# -- gone-note-example'" in removal
    env = {**_env(), "TQDM_DISABLE": "1"}
    frozen = build(full_repo, "--threads", "1", "--device", "cpu", env=env)
    assert frozen.returncode == 0, frozen.stderr[-2000:]
    assert "training 1 experiment(s): gone-note-example" in frozen.stderr
    assert (full_repo / "results" / "gone-note-example.json").is_file()

    shutil.rmtree(full_repo / "site_src" / "gone-note")
    suite = full_repo / "experiments" / "suite.py"
    text = suite.read_text()
    block = re.search(r"\n\n# -- gone-note-example.*?\n}\)\)\n", text, re.S)
    suite.write_text(text[:block.start()] + "\n" + text[block.end():])

    status = build(full_repo, "status", env=env)
    assert "results/gone-note-example.json: no row of the experiment table claims it" \
        in status.stdout, status.stdout
    assert "gone-note" not in status.stdout.replace("results/gone-note-example.json", "")
    again = build(full_repo, "--frozen", env=env)
    assert again.returncode == 0, again.stderr[-2000:]
    assert not (full_repo / "public" / "gone-note").exists()
