"""The renderer's errors: RenderError, 'path:LINE: message' (defined in onpolicy/errors.py
with its friends), and MissingResult (figkit re-exports it for figures.py files; it lives here
so that the renderer can catch it without importing plotly)."""
from __future__ import annotations

from ..errors import RenderError

__all__ = ["MissingResult", "RenderError", "YamlError"]


class MissingResult(KeyError):
    """A figure needs a result that was not loaded."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


class YamlError(ValueError):
    """A YAML text that does not parse (render/yaml_loader.py): PyYAML's message, its problem,
    and the 0-based lines of its problem and context marks (None where PyYAML gives none)."""

    def __init__(self, message: str, problem: str, problem_line: int | None,
                 context_line: int | None):
        super().__init__(message)
        self.problem, self.problem_line, self.context_line = problem, problem_line, context_line
