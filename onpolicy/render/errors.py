"""The renderer's error, 'path:LINE: message' (defined in onpolicy/errors.py with its friends)."""
from ..errors import RenderError

__all__ = ["RenderError"]
