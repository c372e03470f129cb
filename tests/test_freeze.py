"""The freeze hash: what makes a result stale, and what never does."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from experiments import payloads
from experiments.suite import EXPERIMENTS
from onpolicy.contract import Experiment
from onpolicy import freeze, schema
from onpolicy.config import shown
from onpolicy.deps import DependencyError, project_modules

REPO = Path(__file__).resolve().parent.parent


def training_payload(method: str = "m", acc: float = 0.5) -> dict:
    stat = {"per_seed": [[acc, acc]], "mean": [acc, acc], "lo": [acc, acc], "hi": [acc, acc],
            "n": [1, 1]}
    return {"task": "binary", "method": method, "n_actions": 2, "seeds": [0], "steps": [0, 10],
            "accuracy": stat, "logit_abs_max": stat, "logit_abs_mean": stat,
            "action_share": {"mean": [[0.5, 0.5], [0.5, 0.5]]},
            "first_nonfinite_step": [None],
            "final_accuracy": {"per_seed": [acc], "mean": acc, "lo": acc, "hi": acc, "n": 1}}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A tiny project: fakepkg.a imports a helper (which imports a sub-helper); fakepkg.b doesn't."""
    pkg = tmp_path / "fakepkg"
    (pkg / "util").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "util" / "__init__.py").write_text("")
    (pkg / "util" / "sub.py").write_text("import math\nVALUE = 1\n")
    (pkg / "helper.py").write_text("import json\nfrom .util import sub\n\ndef f():\n    return sub.VALUE\n")
    (pkg / "a.py").write_text("import os\nfrom fakepkg.helper import f\n\ndef run(): return f()\n")
    (pkg / "b.py").write_text("def run():\n    return 2\n")
    (tmp_path / "site_src").mkdir()
    (tmp_path / "site_src" / "article.md").write_text("---\ntitle: T\n---\nHello\n")
    return tmp_path


def experiments() -> list[Experiment]:
    return [Experiment("exp-a", "fakepkg.a", {"lr": 0.001, "data": {"name": "synthetic"}}),
            Experiment("exp-b", "fakepkg.b", {"lr": 0.001, "data": {"name": "synthetic"}})]


def freeze_all(root: Path, store: Path, exps: list[Experiment]) -> None:
    for exp in exps:
        freeze.write_result(store, exp, freeze.inputs_for(exp, root), training_payload(),
                            {"device": "cpu"})


def states(root: Path, store: Path, exps: list[Experiment]) -> dict[str, str]:
    return {e.name: freeze.check(e, root, store).state for e in exps}


def test_deps_are_transitive_and_project_only(project: Path):
    found = project_modules(project, "fakepkg.a")
    assert set(found) == {"fakepkg.a", "fakepkg", "fakepkg.helper", "fakepkg.util",
                          "fakepkg.util.sub"}
    assert set(project_modules(project, "fakepkg.b")) == {"fakepkg.b", "fakepkg"}


def test_missing_entry_module_is_an_error(project: Path):
    with pytest.raises(DependencyError, match="fakepkg.nope"):
        project_modules(project, "fakepkg.nope")


def test_fresh_after_freezing(project: Path, tmp_path: Path):
    store = tmp_path / "results"
    freeze_all(project, store, experiments())
    assert states(project, store, experiments()) == {"exp-a": "fresh", "exp-b": "fresh"}


def test_config_change_makes_only_that_experiment_stale(project: Path, tmp_path: Path):
    store = tmp_path / "results"
    freeze_all(project, store, experiments())
    changed = [Experiment("exp-a", "fakepkg.a", {"lr": 0.01, "data": {"name": "synthetic"}}),
               experiments()[1]]
    assert states(project, store, changed) == {"exp-a": "stale", "exp-b": "fresh"}
    assert freeze.check(changed[0], project, store).reasons == ["config: lr 0.001 -> 0.01"]


def test_prose_edit_makes_nothing_stale(project: Path, tmp_path: Path):
    store = tmp_path / "results"
    freeze_all(project, store, experiments())
    (project / "site_src" / "article.md").write_text("---\ntitle: T\n---\nRewritten prose.\n")
    assert states(project, store, experiments()) == {"exp-a": "fresh", "exp-b": "fresh"}


def test_imported_module_change_makes_only_dependents_stale(project: Path, tmp_path: Path):
    store = tmp_path / "results"
    freeze_all(project, store, experiments())
    sub = project / "fakepkg" / "util" / "sub.py"
    sub.write_text(sub.read_text() + "VALUE = 2\n")
    assert states(project, store, experiments()) == {"exp-a": "stale", "exp-b": "fresh"}
    assert freeze.check(experiments()[0], project, store).reasons == [
        "source: fakepkg/util/sub.py changed"]


def test_new_import_is_reported(project: Path, tmp_path: Path):
    store = tmp_path / "results"
    freeze_all(project, store, experiments())
    (project / "fakepkg" / "b.py").write_text("from . import helper\n\ndef run():\n    return 2\n")
    reasons = freeze.check(experiments()[1], project, store).reasons
    assert "source: fakepkg/helper.py now imported" in reasons
    assert "source: fakepkg/b.py changed" in reasons


def test_dataset_change_makes_stale(project: Path, tmp_path: Path):
    store = tmp_path / "results"
    exp = Experiment("exp-m", "fakepkg.b", {"data": {"name": "mnist", "split": "test10k"}})
    freeze_all(project, store, [exp])
    full = Experiment("exp-m", "fakepkg.b", {"data": {"name": "mnist", "split": "full"}})
    status = freeze.check(full, project, store)
    assert status.state == "stale"
    assert "data: dataset identity changed" in status.reasons


@pytest.mark.parametrize("damage", ["truncate", "edit_result", "edit_inputs", "edit_provenance",
                                    "not_json_object"])
def test_corrupt_or_hand_edited_result_is_reported(project: Path, tmp_path: Path, damage: str):
    store = tmp_path / "results"
    freeze_all(project, store, experiments())
    path = store / "exp-a.json"
    text = path.read_text()
    if damage == "truncate":
        path.write_text(text[: len(text) // 2])
    elif damage == "edit_result":
        doc = json.loads(text)
        doc["result"]["final_accuracy"]["mean"] = 0.99
        path.write_text(json.dumps(doc))
    elif damage == "edit_inputs":
        doc = json.loads(text)
        doc["inputs"]["config"]["lr"] = 0.5
        path.write_text(json.dumps(doc))
    elif damage == "edit_provenance":
        doc = json.loads(text)
        doc["provenance"]["device"] = "cuda"
        path.write_text(json.dumps(doc))
    else:
        path.write_text("[1, 2]")
    status = freeze.check(experiments()[0], project, store)
    assert status.state == "corrupt"
    assert shown(path, project) in status.reasons[0]
    assert freeze.check(experiments()[1], project, store).state == "fresh"


def test_old_schema_version_is_stale_not_corrupt(project: Path, tmp_path: Path):
    store = tmp_path / "results"
    freeze_all(project, store, experiments())
    path = store / "exp-a.json"
    doc = json.loads(path.read_text())
    doc["schema"] = 0
    doc["inputs"]["schema"] = 0
    path.write_text(json.dumps(doc))
    status = freeze.check(experiments()[0], project, store)
    assert status.state == "stale"
    assert f"schema version 0 -> {schema.SCHEMA_VERSION}" in status.reasons


def test_invalid_result_is_never_frozen(project: Path, tmp_path: Path):
    store = tmp_path / "results"
    bad = training_payload()
    del bad["accuracy"]
    with pytest.raises(freeze.ResultError, match="invalid result"):
        freeze.write_result(store, experiments()[0], freeze.inputs_for(experiments()[0], project),
                            bad, {}, payloads.TRAINING)
    assert not (store / "exp-a.json").exists()


def test_the_payload_schema_is_the_packages_not_guessed(project: Path, tmp_path: Path):
    """The row's schema comes from its experiment package (suite.payload_schema); a payload
    of another package's shape is checked against that package's schema, never sniffed."""
    store = tmp_path / "results"
    other = {"tally": [1, 2, 3]}
    row = experiments()[0]
    freeze.write_result(store, row, freeze.inputs_for(row, project), other, {},
                        {"type": "object", "required": ["tally"]})
    assert freeze.check(row, project, store).fresh
    with pytest.raises(freeze.ResultError, match="invalid result.*tally"):
        freeze.write_result(store, row, freeze.inputs_for(row, project), {"runs": []}, {},
                            {"type": "object", "required": ["tally"]})
    assert payloads.kind("experiments.methods.ppo", {"dial_eps": [0.0]}) == "dial"
    assert payloads.kind("experiments.estimators", {}) == "estimators"
    assert payloads.kind("tests.ray_entry", {}) is None


def test_nan_is_refused_not_written(project: Path, tmp_path: Path):
    store = tmp_path / "results"
    bad = training_payload(acc=float("nan"))
    with pytest.raises(ValueError):
        freeze.write_result(store, experiments()[0], freeze.inputs_for(experiments()[0], project),
                            bad, {})


# -- the real experiment table ---------------------------------------------------------------

@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    for name in ("experiments", "site_src"):
        shutil.copytree(REPO / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def hashes(root: Path) -> dict[str, str]:
    return {e.name: freeze.inputs_hash(freeze.inputs_for(e, root)) for e in EXPERIMENTS}


def test_real_suite_editing_the_ppo_loss_stales_only_ppo_experiments(repo_copy: Path):
    before = hashes(repo_copy)
    ppo = repo_copy / "experiments" / "methods" / "ppo.py"
    ppo.write_text(ppo.read_text() + "\n# an edit\n")
    after = hashes(repo_copy)
    changed = {name for name in before if before[name] != after[name]}
    # the PPO rows (random actions, the clip sweep, both dials) and the estimator measurement,
    # which runs PPO's loss among others; nothing else
    ppo_rows = {name for name in before if "ppo" in name}
    assert {"binary-ppo_random", "categorical-ppo_clip05", "dial-categorical-ppo"} <= ppo_rows
    assert changed == ppo_rows | {"estimators-binary", "estimators-categorical"}


def test_real_suite_prose_edit_stales_nothing(repo_copy: Path):
    """Neither prose nor an article's facts.py / figures.py is an input of an experiment."""
    before = hashes(repo_copy)
    edited = [*(repo_copy / "site_src").rglob("*.md"), *(repo_copy / "site_src").rglob("*.py")]
    assert any(p.name == "facts.py" for p in edited) and any(p.suffix == ".md" for p in edited)
    for page in edited:
        page.write_text(page.read_text() + "\n# More prose.\n")
    assert hashes(repo_copy) == before


def test_real_suite_table_is_not_an_input(repo_copy: Path):
    """Editing one row of experiments/suite.py must not stale the others through its source."""
    for exp in EXPERIMENTS:
        assert "experiments/suite.py" not in freeze.inputs_for(exp, repo_copy)["sources"]


def test_real_suite_quick_config_has_its_own_hash():
    for exp in EXPERIMENTS:
        normal = freeze.inputs_hash(freeze.inputs_for(exp, REPO))
        quick = freeze.inputs_hash(freeze.inputs_for(exp, REPO, quick=True))
        assert normal != quick, exp.name
