"""Content modules: the Python beside a site's pages that computes the facts its prose quotes
(`facts.py`: `compute(results) -> dict`) and defines its figures (`figures.py`: functions
decorated with `@figure(id)`, see figkit.py, listed in its `FIGURES`; without that list, the
@figure functions of its namespace). A `figure("id")` written in any module of the folder
that is not registered so fails the build at its line: it would never be drawn.

A folder under the source directory holds a page (`index.md`), content modules, or both. Each
folder is loaded as a package of its own (so `figures.py` may `from .facts import ...`), afresh
on every build and without writing `__pycache__` into the sources. Facts and figure ids form one
namespace per site, since results are site-wide too: any page may quote any fact (the Reproduce
page quotes the article's total training time) or place any figure; a fact or a figure id
defined twice is an error naming both files.
"""
from __future__ import annotations

import ast
import contextlib
import importlib
import re
import sys
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import shown

from .errors import MissingResult, RenderError

if TYPE_CHECKING:  # figkit imports plotly: loaded with the content modules, which use it
    from .figkit import FigureBuilder

FACTS_FILE, FIGURES_FILE = "facts.py", "figures.py"
MODULE_FILES = (FACTS_FILE, FIGURES_FILE)   # loaded in this order
PACKAGE_PREFIX = "_onpolicy_content_"       # + the folder's name: the package in sys.modules
FIGURE_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # also a file name in data/charts


@dataclass(frozen=True)
class FigureDef:
    figure_id: str
    build: FigureBuilder
    where: str              # "site_src/article/figures.py:123", for messages


@dataclass
class Content:
    src_dir: Path
    root: Path                                  # messages name files relative to it
    facts_modules: list[tuple[str, Callable]] = field(default_factory=list)  # (file, compute)
    figures: dict[str, FigureDef] = field(default_factory=dict)
    explorable_data: dict[str, FigureDef] = field(default_factory=dict)  # @explorable_data

    def compute_facts(self, results: Mapping[str, dict]) -> dict:
        facts: dict = {}
        owner: dict[str, str] = {}
        for path, compute in self.facts_modules:
            try:
                computed = compute(results)
            except Exception as err:
                raise self.located(err, "compute(results) failed", f"{path}:1") from None
            if not isinstance(computed, Mapping):
                raise RenderError.at(path, 1, f"compute(results) returned a "
                                     f"{type(computed).__name__}, not a dict of facts")
            for key, value in computed.items():
                if key in owner:
                    raise RenderError.at(path, 1, f"fact {key!r} is also computed by "
                                         f"{owner[key]}: rename one of them")
                owner[key] = path
                facts[key] = value
        return facts

    def build_figure(self, figure_id: str, results: Mapping[str, dict]):
        """(plotly figure, names of the results it read). MissingResult passes through."""
        from .figkit import ResultsUsed
        definition = self.figures[figure_id]
        used = ResultsUsed(results)
        try:
            figure = definition.build(used)
        except MissingResult:
            raise
        except Exception as err:
            raise self.located(err, f"figure {figure_id!r} failed", definition.where) from None
        if not hasattr(figure, "to_json"):
            raise RenderError(f"{definition.where}: figure {figure_id!r} returned a "
                              f"{type(figure).__name__}, not a plotly Figure")
        return figure, used.used

    def build_explorable_data(self, data_id: str, results: Mapping[str, dict]):
        """(JSON-able data, names of the results it read). MissingResult passes through."""
        from .figkit import ResultsUsed
        definition = self.explorable_data[data_id]
        used = ResultsUsed(results)
        try:
            data = definition.build(used)
        except MissingResult:
            raise
        except Exception as err:
            raise self.located(err, f"explorable data {data_id!r} failed",
                               definition.where) from None
        return data, used.used

    def known_figures(self) -> str:
        return ", ".join(sorted(self.figures)) or "none: no figures.py defines any"

    def located(self, err: BaseException, what: str, fallback: str) -> RenderError:
        """RenderError at the innermost traceback frame in the source directory (the author's
        code, not the engine's or a library's): 'site_src/article/facts.py:42: what: ...'."""
        if isinstance(err, SyntaxError) and err.filename:
            return RenderError.at(shown(Path(err.filename), self.root), err.lineno,
                                  f"SyntaxError: {err.msg}")
        where = fallback
        tb = err.__traceback__
        while tb is not None:
            filename = Path(tb.tb_frame.f_code.co_filename)
            if filename.is_relative_to(self.src_dir):
                where = f"{shown(filename, self.root)}:{tb.tb_lineno}"
            tb = tb.tb_next
        return RenderError(f"{where}: {what}: {type(err).__name__}: {err}")


def content_folders(src_dir: Path) -> list[Path]:
    """Folders that may hold a page or content modules ('_x' and '.x' are not content)."""
    return sorted(p for p in Path(src_dir).iterdir()
                  if p.is_dir() and not p.name.startswith(("_", ".")))


@contextlib.contextmanager
def _no_bytecode():
    """Keep __pycache__ out of the sources (and out of the preview server's file watcher)."""
    before = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        yield
    finally:
        sys.dont_write_bytecode = before


def _fresh_package(folder: Path) -> str:
    package = PACKAGE_PREFIX + re.sub(r"\W", "_", folder.name)
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]  # a rebuild (the preview server) runs the edited files again
    module = types.ModuleType(package, f"content modules of {folder}")
    module.__path__ = [str(folder)]
    module.__package__ = package
    sys.modules[package] = module
    return package


def _declared(folder: Path, root: Path) -> dict[str, str]:
    """Every figure id a module of the folder defines, `@figure("id")` or `figure("id")(...)`,
    found by reading the files (an unimported module counts too): id -> "file:line"."""
    found: dict[str, str] = {}
    for file in sorted(folder.glob("*.py")):
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue  # importing it reports the error with its line
        for node in ast.walk(tree):
            func = getattr(node, "func", None)
            name = getattr(func, "id", None) or getattr(func, "attr", None)
            if (isinstance(node, ast.Call) and name == "figure" and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                found.setdefault(node.args[0].value, f"{shown(file, root)}:{node.lineno}")
    return found


def _registered(module: types.ModuleType, path: str) -> list:
    """figures.py's FIGURES (the explicit list), or, without one, its @figure functions."""
    listed = getattr(module, "FIGURES", None)
    if listed is None:
        return list(vars(module).values())
    if not isinstance(listed, (list, tuple)):
        raise RenderError.at(path, 1, "FIGURES must be a list of @figure functions, not a "
                             f"{type(listed).__name__}")
    return list(listed)


def _figures_of(module: types.ModuleType, path: str, figures: dict[str, FigureDef],
                attribute: str | None = None) -> None:
    """Figures from FIGURES (or every @figure function); explorable data from the module's
    @explorable_data functions."""
    from .figkit import FIGURE_ID  # with the content modules (figkit imports plotly)
    attribute = attribute or FIGURE_ID
    kind = "figure" if attribute == FIGURE_ID else "explorable data"
    values = _registered(module, path) if attribute == FIGURE_ID else vars(module).values()
    for value in values:
        figure_id = getattr(value, attribute, None)
        if figure_id is None or not callable(value):
            continue
        code = getattr(value, "__code__", None)
        where = f"{path}:{code.co_firstlineno if code else 1}"
        if not isinstance(figure_id, str) or not FIGURE_ID_PATTERN.fullmatch(figure_id):
            raise RenderError(f"{where}: {kind} id {figure_id!r}: use letters, digits, '-', "
                              "'_' and '.', starting with a letter or digit")
        known = figures.get(figure_id)
        if known is not None and known.build is not value:
            raise RenderError(f"{where}: {kind} id {figure_id!r} is also defined at "
                              f"{known.where}")
        figures[figure_id] = FigureDef(figure_id, value, where)


def import_folder(folder: Path) -> Iterator[tuple[Path, types.ModuleType]]:
    """Import a folder's facts.py and figures.py afresh as one package: (file, module) each.
    Tests use it to reach an article's module directly."""
    folder = Path(folder).resolve()
    package = _fresh_package(folder)
    for file in (folder / name for name in MODULE_FILES):
        if file.is_file():
            with _no_bytecode():
                module = importlib.import_module(f"{package}.{file.stem}")
            yield file, module


def load_content(src_dir: Path, root: Path) -> Content:
    """Load every content folder's facts.py and figures.py; RenderError('file:line: ...')."""
    content = Content(Path(src_dir).resolve(), Path(root))
    importlib.invalidate_caches()  # files created since the last build are found
    for folder in content_folders(content.src_dir):
        try:
            modules = list(import_folder(folder))
        except Exception as err:
            raise content.located(err, "loading it failed", shown(folder, root)) from None
        for file, module in modules:
            path = shown(file, root)
            if file.name == FACTS_FILE:
                compute = getattr(module, "compute", None)
                if not callable(compute):
                    raise RenderError.at(path, 1, "a facts.py must define "
                                         "compute(results) -> dict")
                content.facts_modules.append((path, compute))
            else:
                _figures_of(module, path, content.figures)
                from .figkit import EXPLORABLE_DATA_ID
                _figures_of(module, path, content.explorable_data, EXPLORABLE_DATA_ID)
        for figure_id, where in _declared(folder, root).items():
            if figure_id not in content.figures:
                raise RenderError(f"{where}: figure {figure_id!r} is defined but never reachable: "
                                  f"add it to FIGURES in {shown(folder / FIGURES_FILE, root)}")
    return content
