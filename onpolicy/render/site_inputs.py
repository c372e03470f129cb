"""What a site build reads besides its pages and results: the site-wide settings
(site_src/_site.yaml) and the date an article's source was last committed."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from ..config import shown
from ..incremental import git_output
from .errors import RenderError
from .pages import FrontMatterLoader, read_source

SETTINGS_FILE = "_site.yaml"   # site-wide settings in src_dir: title, description, author, ...
DEFAULT_SETTINGS = {"title": "onpolicy", "description": "", "author": "", "lang": "en",
                    "macros": {}, "source_url": "", "license": "", "license_url": ""}


def load_settings(src_dir: Path, root: Path) -> dict:
    path = src_dir / SETTINGS_FILE
    if not path.is_file():
        return dict(DEFAULT_SETTINGS)
    try:
        loaded = yaml.load(read_source(path, shown(path, root)), Loader=FrontMatterLoader) or {}
    except yaml.MarkedYAMLError as err:
        line = err.problem_mark.line + 1 if err.problem_mark else 1
        raise RenderError.at(shown(path, root), line, f"YAML: {err.problem}") from None
    if not isinstance(loaded, dict):
        raise RenderError.at(shown(path, root), 1, "must be a YAML mapping")
    return {**DEFAULT_SETTINGS, **loaded}


def git_updated(path: Path, repo: Path):
    """The date of the last commit that touched path, or None outside git."""
    answer = git_output(repo, ["log", "-1", "--format=%cs", "--", str(path)], timeout=20)
    try:
        return dt.date.fromisoformat(answer) if answer is not None else None
    except ValueError:
        return None
