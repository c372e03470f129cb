"""The generator's import graph has no circles (read with onpolicy/deps.py, nothing run), and
the engine imports nothing of any article."""
from __future__ import annotations

from onpolicy.config import ROOT
from onpolicy.deps import direct_imports, import_graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as [a, b, ..., a], or None (depth-first search)."""
    state: dict[str, str] = {}   # module -> "open" (on the current path) | "done"
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for imported in sorted(graph.get(module, ())):
            if state.get(imported) == "open":
                return path[path.index(imported):] + [imported]
            if imported not in state and (cycle := visit(imported)):
                return cycle
        path.pop()
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_find_cycle_finds_one_and_only_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_generator_has_no_import_circles():
    for package in ("onpolicy", "experiments"):
        graph = import_graph(ROOT, package)
        assert "onpolicy.render.site" in graph or package != "onpolicy"
        cycle = find_cycle(graph)
        assert cycle is None, f"import circle in {package}/: {' -> '.join(cycle)}"


def test_errors_module_is_shared_and_body_does_not_know_the_site():
    assert "onpolicy.errors" in direct_imports(ROOT, "onpolicy.pipeline")
    assert "onpolicy.pipeline" not in direct_imports(ROOT, "onpolicy.ray_executor")
    assert "onpolicy.render.site" not in direct_imports(ROOT, "onpolicy.render.body")
    assert "onpolicy.render.body" in direct_imports(ROOT, "onpolicy.render.site")


def test_modules_stay_small():
    big = {str(p.relative_to(ROOT)): n for p in sorted((ROOT / "onpolicy").rglob("*.py"))
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > 300}
    assert not big, f"modules over 300 lines: {big}"


def test_the_engine_imports_no_experiment_package():
    """`grep -rn "from experiments\\|import experiments" onpolicy/` is empty: the engine reaches
    the experiment package only through the --suite module named at run time
    (onpolicy/contract.py). Checked on the import graph and on the text, so a lazy import
    inside a function counts too."""
    graph = import_graph(ROOT, "onpolicy")
    found = sorted(f"{module} -> {imported}" for module, imports in graph.items()
                   for imported in imports if imported.split(".")[0] != "onpolicy")
    assert not found, f"the engine imports project code outside onpolicy/: {found}"
    text = [f"{p.relative_to(ROOT)}:{n}" for p in sorted((ROOT / "onpolicy").rglob("*.py"))
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if "from experiments" in line or "import experiments" in line]
    assert not text, f"the engine names the experiment package: {text}"
