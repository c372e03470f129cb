"""The errors a build stops with; the CLI prints their message, never a traceback.

Their own module, so the pipeline, the executors and the renderer import them without
importing each other.
"""
from __future__ import annotations


class BuildError(Exception):
    """A build that must stop; the message says what to do."""


class ConfigError(Exception):
    """A setting that cannot work (a bad flag value, an unusable --out, no CUDA device)."""


class RenderError(Exception):
    """A page, template, chart or formula that cannot be rendered. str() is 'file:line: why'."""

    @classmethod
    def at(cls, path: str, line: int | None, message: str) -> "RenderError":
        return cls(f"{path}:{line if line else 1}: {message}")
