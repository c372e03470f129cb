"""Parsed YAML texts are remembered from one build to the next (front_matter.load_yaml): the
same value as PyYAML gives, PyYAML not loaded for a text seen before, errors never kept."""
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from onpolicy import file_digests
from onpolicy.render.front_matter import YamlError, load_yaml

ROOT = Path(__file__).resolve().parent.parent

TEXT = """title: "A page"
date: 2026-12-05
when: 2026-12-05 10:30:00+01:00
not_a_date: 2026-13-45
order: 3
ratio: 0.25
big: .inf
draft: false
empty:
macros: {"\\\\E": "\\\\mathbb{E}"}
tags: [a, 1, {b: [2, 3.5]}]
"""


def test_a_remembered_text_gives_the_same_value_with_its_types(tmp_path):
    file_digests.forget()
    first = load_yaml(TEXT, tmp_path)
    file_digests.save(tmp_path)
    file_digests.forget()  # as a new process would: from the cache file
    again = load_yaml(TEXT, tmp_path)
    assert again == first
    assert type(again["date"]) is dt.date and type(again["when"]) is dt.datetime
    assert again["when"].utcoffset() == dt.timedelta(hours=1)
    assert again["not_a_date"] == "2026-13-45" and again["big"] == float("inf")
    assert type(again["order"]) is int and again["draft"] is False and again["empty"] is None
    assert again is not first and again["tags"] is not first["tags"]
    kept = json.loads((tmp_path / file_digests.CACHE_FILE).read_text())["derived"]
    assert len([k for k in kept if k.startswith("yaml\0")]) == 1


def test_a_value_json_cannot_hold_is_parsed_every_time(tmp_path):
    file_digests.forget()
    text = "1: one\nitems: !!set {a, b}\n"
    assert load_yaml(text, tmp_path) == {1: "one", "items": {"a", "b"}}
    assert not [k for k in file_digests._store(tmp_path).derived if k.startswith("yaml\0")]
    assert load_yaml(text, tmp_path) == {1: "one", "items": {"a", "b"}}


def test_errors_are_raised_with_their_lines_and_never_kept(tmp_path):
    file_digests.forget()
    for _ in range(2):
        with pytest.raises(YamlError) as err:
            load_yaml("title: a\nlist: [1, 2\n", tmp_path)
        assert err.value.problem and err.value.problem_line is not None
    assert not file_digests._store(tmp_path).derived


def test_an_edited_text_is_parsed_again(tmp_path):
    file_digests.forget()
    assert load_yaml("title: a\n", tmp_path) == {"title": "a"}
    assert load_yaml("title: b\n", tmp_path) == {"title": "b"}


def test_a_second_process_reads_the_pages_without_pyyaml(tmp_path):
    """The site's pages and settings, read twice in fresh processes: the second one does not
    import PyYAML (what a prose edit's rebuild saves), and reads the same front matter."""
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from onpolicy.render.pages import load_pages\n"
        "from onpolicy.render.site_inputs import load_settings\n"
        f"root = Path({str(tmp_path)!r}); src = Path({str(ROOT / 'site_src')!r})\n"
        "pages = load_pages(src, root, False)\n"
        "settings = load_settings(src, root)\n"
        "print(json.dumps({'yaml': 'yaml' in sys.modules, 'settings': settings,\n"
        "                  'meta': [p.meta for p in pages]}, default=str, sort_keys=True))\n")
    runs = [json.loads(subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True,
                                      capture_output=True, text=True).stdout)
            for _ in range(2)]
    assert runs[0]["yaml"] is True and runs[1]["yaml"] is False
    assert runs[0]["meta"] == runs[1]["meta"] and runs[0]["settings"] == runs[1]["settings"]
