"""The one exception the renderer raises for bad input, always 'path:LINE: message'."""
from __future__ import annotations


class RenderError(Exception):
    """A page, template, chart or formula that cannot be rendered. str() is 'file:line: why'."""

    @classmethod
    def at(cls, path: str, line: int | None, message: str) -> "RenderError":
        return cls(f"{path}:{line if line else 1}: {message}")
