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


def raised_where(err: BaseException, root) -> str:
    """'file:line: Kind: message' of an exception raised by a project file (the experiment
    table a build imports), at its innermost frame under `root`; a SyntaxError at its line."""
    from pathlib import Path
    import traceback

    def inside(filename) -> str | None:
        try:
            return Path(filename).resolve().relative_to(Path(root).resolve()).as_posix()
        except (TypeError, ValueError, OSError):
            return None

    if isinstance(err, SyntaxError) and inside(err.filename):
        return f"{inside(err.filename)}:{err.lineno}: {type(err).__name__}: {err.msg}"
    frames = [f for f in traceback.extract_tb(err.__traceback__) if inside(f.filename)]
    place = f"{inside(frames[-1].filename)}:{frames[-1].lineno}: " if frames else ""
    return f"{place}{type(err).__name__}: {err}"
