"""What a site build reads besides its pages and results: the site-wide settings
(site_src/_site.yaml) and the date an article's source was last committed."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from .. import file_digests
from ..config import shown
from ..incremental import git_output
from .errors import RenderError
from .front_matter import YamlError, check_macros, load_yaml
from .pages import read_source

SETTINGS_FILE = "_site.yaml"   # site-wide settings in src_dir: title, description, author, ...
DEFAULT_SETTINGS = {"title": "onpolicy", "description": "", "author": "", "lang": "en",
                    "macros": {}, "source_url": "", "license": "", "license_url": ""}


def load_settings(src_dir: Path, root: Path) -> dict:
    path = src_dir / SETTINGS_FILE
    if not path.is_file():
        return dict(DEFAULT_SETTINGS)
    try:
        loaded = load_yaml(read_source(path, shown(path, root)), root) or {}
    except YamlError as err:
        if err.problem_line is None and err.context_line is None:
            raise RenderError.at(shown(path, root), 1, f"YAML: {err}") from None
        line = err.problem_line + 1 if err.problem_line is not None else 1
        raise RenderError.at(shown(path, root), line, f"YAML: {err.problem}") from None
    if not isinstance(loaded, dict):
        raise RenderError.at(shown(path, root), 1, "must be a YAML mapping")
    file_digests.save(root)  # the settings' YAML, if it was parsed for the first time
    check_macros(loaded.get("macros"), shown(path, root), 1)
    return {**DEFAULT_SETTINGS, **loaded}


def _git(repo: Path, *args: str) -> str | None:
    return git_output(repo, list(args), timeout=20)  # kept until HEAD moves, in serve


def shallow_boundary(repo: Path) -> set[str]:
    """The commits of a shallow clone whose parents were not fetched (empty in a full one)."""
    listed = _git(repo, "rev-parse", "--path-format=absolute", "--git-path", "shallow")
    try:
        return set(Path(listed).read_text().split()) if listed else set()
    except OSError:
        return set()


def git_updated(path: Path, repo: Path, warn=None):
    """The date of the last commit that touched path, or None outside git.

    In a shallow clone (actions/checkout fetches one commit unless told otherwise) git log
    credits the oldest fetched commit with every file, so its date would re-date the article
    on every push: then the date is unknown, None, and warn() says how to fetch the history.
    """
    found = _git(repo, "log", "-1", "--format=%H %cs", "--", str(path))
    if not found:
        return None
    commit, _, date = found.partition(" ")
    if commit in shallow_boundary(repo):
        if warn:
            warn(f"{shown(path, repo)}: this checkout is a shallow clone, so the date it was "
                 "last changed is unknown and the page shows no 'updated' date; fetch the "
                 "history (`git fetch --unshallow`, or `fetch-depth: 0` in actions/checkout)")
        return None
    try:
        return dt.date.fromisoformat(date)
    except ValueError:
        return None
