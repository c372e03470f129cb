"""The renderer's errors: RenderError, 'path:LINE: message' (defined in onpolicy/errors.py
with its friends), and MissingResult (figkit re-exports it for figures.py files; it lives here
so that the renderer can catch it without importing plotly)."""
from ..errors import RenderError

__all__ = ["MissingResult", "RenderError"]


class MissingResult(KeyError):
    """A figure needs a result that was not loaded."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name
