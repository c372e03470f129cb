"""serve removes the previous site after the reload event (atomic.defer_removal): until then
it stays claimed in the lock file, so a serve killed before removing it leaves it to the next
build's recover_dir, and nothing else is touched."""
from __future__ import annotations

import pytest

from onpolicy import atomic, outdir


@pytest.fixture
def deferring(monkeypatch):
    monkeypatch.setattr(atomic, "DEFER", True)
    monkeypatch.setattr(atomic, "_PENDING", [])


def _site(lock, out, text):
    tmp = atomic.new_temp_dir(out, lock)
    (tmp / "index.html").write_text(text, encoding="utf-8")
    outdir.write_marker(tmp)
    atomic.swap_dir(tmp, out, lock)


def _siblings(tmp_path):
    return sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("public."))


def test_the_previous_site_is_removed_only_by_remove_pending(tmp_path, deferring):
    out = tmp_path / "public"
    with atomic.build_lock(tmp_path / ".build.lock") as lock:
        _site(lock, out, "one\n")
        _site(lock, out, "two\n")
        old = [c for c in lock.claims if c["kind"] == "old"]
    assert (out / "index.html").read_text(encoding="utf-8") == "two\n"
    assert len(old) == 2                          # both still claimed
    # the first swap had no previous site; the second's is still there, and is one claimed
    assert len(_siblings(tmp_path)) == 1
    assert str(tmp_path / _siblings(tmp_path)[0]) in {c["path"] for c in old}
    atomic.remove_pending()
    assert _siblings(tmp_path) == []
    with atomic.build_lock(tmp_path / ".build.lock") as lock:   # the next build drops the claims
        atomic.recover_dir(lock)
        assert lock.claims == []
    assert (out / "index.html").read_text(encoding="utf-8") == "two\n"


def test_a_serve_killed_before_removing_leaves_it_to_the_next_build(tmp_path, deferring):
    out = tmp_path / "public"
    with atomic.build_lock(tmp_path / ".build.lock") as lock:
        _site(lock, out, "one\n")
        _site(lock, out, "two\n")
    (tmp_path / "public.old-1-notmine").mkdir()   # not recorded: never touched
    atomic._PENDING.clear()                       # the process died: nothing removes them
    assert len(_siblings(tmp_path)) == 2
    with atomic.build_lock(tmp_path / ".build.lock") as lock:
        atomic.recover_dir(lock)
        assert lock.claims == []
    assert _siblings(tmp_path) == ["public.old-1-notmine"]
    assert (out / "index.html").read_text(encoding="utf-8") == "two\n"


def test_a_one_shot_build_removes_it_at_once(tmp_path):
    assert not atomic.DEFER
    out = tmp_path / "public"
    with atomic.build_lock(tmp_path / ".build.lock") as lock:
        _site(lock, out, "one\n")
        _site(lock, out, "two\n")
        assert lock.claims == []
    assert _siblings(tmp_path) == []
