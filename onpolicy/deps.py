"""Which project modules an experiment depends on, found by reading imports with `ast`.

Nothing is imported or executed: this runs on render-only builds, which never load torch.
A module counts when its top-level package lives in the project root (e.g. `experiments`);
the standard library and installed packages are ignored, since their versions are provenance.
"""
from __future__ import annotations

import ast
import os
from pathlib import Path

from . import file_digests
from .contract import sha256


class DependencyError(Exception):
    pass


def module_file(root: Path, module: str) -> Path | None:
    """The file that defines `module` inside the project, or None if it is not ours."""
    base = os.path.join(root, *module.split("."))  # strings: a build asks some 300 times
    for candidate in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(candidate):
            return Path(candidate)
    return None


def _project_packages(root: Path) -> set[str]:
    """Top-level names that are the project's own: one directory listing, not a stat per import."""
    return ({p.name for p in root.iterdir() if (p / "__init__.py").is_file()}
            | {p.stem for p in root.glob("*.py")})


def _parents(module: str) -> list[str]:
    """Importing a.b.c runs a/__init__.py and a/b/__init__.py first."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Absolute names of everything `module` imports (including `from x import y` candidates)."""
    names: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".") if package else []
                if node.level - 1 > len(base_parts):
                    continue  # beyond the top package; Python would fail too
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base:
                names.add(base)
            # `from pkg import sub` may import the submodule pkg.sub
            names.update(f"{base}.{alias.name}" if base else alias.name for alias in node.names)
    return names


def _imports_of(root: Path, path: Path, module: str) -> frozenset[str]:
    """What `module` (the file at path) imports, remembered on disk by the digest of its text
    (file_digests): a build whose modules did not change parses none of them."""
    digest = file_digests.digest(root, path, "text", file_digests.text_sha256)
    key = f"imports\0{module}\0{path.name == '__init__.py'}\0{digest}"
    known = file_digests.recall(root, key)
    if isinstance(known, list):
        return frozenset(known)
    text = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as err:
        raise DependencyError(f"{path}:{err.lineno}: syntax error: {err.msg}") from err
    names = _imported_names(tree, module, path.name == "__init__.py")
    if sha256(text) == digest:  # not written again since it was hashed
        file_digests.remember(root, key, sorted(names))
    return frozenset(names)


def project_modules(root: Path, entry: str, read: dict | None = None) -> dict[str, Path]:
    """`entry` and every project module it imports, transitively: {module name: file}.
    read: {module: (file or None, its imports)} found so far in this build (a suite's entries
    share most modules), filled in here."""
    root, read = Path(root), {} if read is None else read
    ours = _project_packages(root)
    found: dict[str, Path] = {}
    missing: set[str] = set()  # names that are no file of ours (a `from x import function`)
    todo = [entry]
    while todo:
        module = todo.pop()
        if module in found or module in missing:
            continue
        if module not in read:
            path = module_file(root, module)
            read[module] = (path, path and _imports_of(root, path, module))
        path, imported = read[module]
        if path is None:
            if module == entry:
                raise DependencyError(f"entry module {entry!r} not found under {root}")
            missing.add(module)
            continue
        found[module] = path
        for name in imported | set(_parents(module)):
            if name.split(".")[0] in ours and name not in found:
                todo.append(name)
    return found


def direct_imports(root: Path, module: str) -> set[str]:
    """The project modules `module` imports itself (read, not run), leaving out its own parent
    packages: Python initialises those before the module, so they close no import circle."""
    root = Path(root)
    path = module_file(root, module)
    if path is None:
        raise DependencyError(f"module {module!r} not found under {root}")
    names = _imports_of(root, path, module)
    parents = set(_parents(module))
    return {name for name in names
            if name != module and name not in parents and module_file(root, name) is not None}


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """{module: project modules it imports} for every module of a package of the project."""
    root = Path(root)
    graph = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        graph[module] = direct_imports(root, module)
    return graph
