"""Content-hash keys of the units an incremental render may reuse (see onpolicy/incremental.py).

A key covers everything its unit's output depends on, and nothing else:

* assets: static/, the JavaScript packages' versions, the renderer's code;
* results: what the build loaded of each result;
* chart <id>: the content modules (any may hold a figure, or a helper of one), the names of
  the loaded results and the content of those the chart read when it was last built (so
  retraining one experiment rebuilds only the charts drawn from it), the renderer's code and
  the plotly version;
* explorable data <id> (onpolicy/render/explorables.py): keyed as a chart is, by the results it
  read when it was last written;
* facts: the content modules, the results, the renderer's code, the library and Python
  versions (a cached fact is reused only when all are unchanged; see render_cache.py);
* page: its own source text plus what every page shares: the templates, _site.yaml, every
  page's front matter (titles and slugs make the navigation), the content modules (facts),
  the results, the assets, the library versions and the sources' last commit (an article
  shows its date). So a prose edit changes one page's key.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from ..incremental import digest, package_versions, render_settings, source_commit, tree_digest
from .pages import Page

LIBRARIES = ("jinja2", "markdown", "pymdown-extensions", "pygments", "plotly", "PyYAML")


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _installed() -> dict[str, str]:
    """{normalised name: version} from the `<name>-<version>.dist-info` folders on sys.path,
    first one wins, as importlib.metadata finds them (importing that module costs more than
    rendering a prose edit: it pulls in email, zipfile and csv)."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for folder in names:
            if folder.endswith(".dist-info") and "-" in folder:
                name, _, version = folder[:-len(".dist-info")].partition("-")
                found.setdefault(_normalised(name), version)
    return found


def library_versions() -> dict[str, str | None]:
    installed = _installed()
    versions = {}
    for name in LIBRARIES:
        versions[name] = installed.get(_normalised(name))
        if versions[name] is None:  # not a plain dist-info install: ask importlib.metadata
            from importlib import metadata
            try:
                versions[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                pass
    return versions


class UnitKeys:
    def __init__(self, cfg, pages: list[Page], settings: dict, reuse):
        """reuse: this build's incremental.Reuse, with its results' digests and the digests of
        the input folders that the site key was taken over (folder_digests)."""
        self.result_keys, results_key = reuse.result_keys, reuse.results_key
        folders = reuse.folders
        engine = folders["engine"]
        versions = library_versions()
        self.code = digest("code", engine, versions, sys.version)  # how a source renders
        self.content = tree_digest(Path(cfg.src_dir), suffixes=(".py",), cache_root=cfg.root)
        self.results = digest("results", results_key, engine)
        self.assets = digest("assets", folders["static"],
                             package_versions(cfg.node_modules), versions, engine)
        self._chart = digest("chart", self.content, sorted(self.result_keys), engine, versions)
        self.facts = digest("facts", self.content, results_key, engine, versions, sys.version)
        fronts = [[p.name, p.display_path, p.meta] for p in pages]
        self._page = digest("page", engine, folders["templates"], settings, fronts, self.content,
                            results_key, self.assets, render_settings(cfg), source_commit(cfg))

    def chart(self, chart_id: str, used: list[str]) -> str:
        """used: the results the chart read (as recorded when it was built)."""
        return digest(self._chart, chart_id, {name: self.result_keys.get(name) for name in used})

    def page(self, page: Page) -> str:
        return digest(self._page, page.display_path, page.body)

    def page_shared(self, page: Page) -> str:
        """What the page's key covers but its own text (render/section_outputs.py)."""
        return digest(self._page, page.display_path, page.body_offset)
