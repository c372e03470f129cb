"""Markdown + Jinja + KaTeX + Plotly -> a static site directory. Never imports torch.

    render_site(cfg, results, results_meta, out_dir) -> list[str]   (warnings)
    RenderError: bad input; str() is "path/to/file:LINE: message"
"""
from .errors import RenderError
from .site import render_site

__all__ = ["RenderError", "render_site"]
