"""experiments/suite.py keeps each entry module's top-level names by the sha256 of its text
(in onpolicy/file_digests.py's cache): an unchanged entry is not parsed again, an edited one
always is, even when the edit keeps the file's size and mtime."""
from __future__ import annotations

import ast
import os

import pytest

from experiments import suite
from onpolicy import file_digests
from onpolicy.contract import Experiment, effective_config, sha256


@pytest.fixture(autouse=True)
def fresh_process():
    file_digests.forget()
    yield
    file_digests.forget()


def test_an_unchanged_entry_is_not_parsed_again_and_an_edit_is_seen(tmp_path, monkeypatch):
    module = tmp_path / "entry.py"
    module.write_text("def run():\n    pass\n\ndef merge():\n    pass\n", encoding="utf-8")
    assert {"run", "merge"} <= suite._top_level_names(module)
    parsed = []
    real_parse = ast.parse
    monkeypatch.setattr(suite.ast, "parse", lambda text: parsed.append(text) or real_parse(text))
    assert {"run", "merge"} <= suite._top_level_names(module)
    assert parsed == []                                   # from the cache
    stat = module.stat()
    module.write_text("def run():\n    pass\n\ndef mergf():\n    pass\n", encoding="utf-8")
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns))   # same size, same mtime
    names = suite._top_level_names(module)
    assert "merge" not in names and "mergf" in names and len(parsed) == 1


def test_a_damaged_entry_in_the_cache_is_parsed_again(tmp_path):
    module = tmp_path / "entry.py"
    text = "from somewhere import run, merge\n"
    module.write_text(text, encoding="utf-8")
    root = suite.Path(suite.__file__).resolve().parents[1]
    file_digests.remember(root, f"entry-names\0{sha256(text)}", "garbage")
    assert {"run", "merge"} <= suite._top_level_names(module)


def test_effective_config_is_a_deep_copy_with_the_quick_overrides():
    row = Experiment("x", "m", {"lr": 1e-3, "steps": [1, 2], "nested": {"a": [3]},
                                "quick": {"steps": [9], "nested": {"b": 1}}})
    full, quick = effective_config(row), effective_config(row, quick=True)
    assert full == {"lr": 1e-3, "steps": [1, 2], "nested": {"a": [3]}}
    assert quick == {"lr": 1e-3, "steps": [9], "nested": {"b": 1}}
    full["steps"].append(5)
    full["nested"]["a"].append(4)
    quick["steps"].append(5)
    assert row.config == {"lr": 1e-3, "steps": [1, 2], "nested": {"a": [3]},
                          "quick": {"steps": [9], "nested": {"b": 1}}}
