"""Static files: the project's static/, KaTeX's CSS + woff2 fonts, the two chart bundles, and
Pygments' CSS. Everything is self-hosted under public/static/.

Two chart bundles: Chart.js (71 KB gzipped) draws every 2D chart; plotly.js's gl3d bundle is
loaded by the page only when a reader turns a surface into a 3D scene."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

from .errors import RenderError

# kind: (npm package, file in it, name stem under static/ (the version is appended))
CHART_BUNDLES = {"2d": ("chart.js", "dist/chart.umd.min.js", "chartjs"),
                 "3d": ("plotly.js-gl3d-dist-min", "plotly-gl3d.min.js", "plotly-gl3d")}
PYGMENTS_LIGHT, PYGMENTS_DARK = "default", "monokai"  # both AA (4.5:1) on --code-bg


def package_version(node_modules: Path, package: str) -> str:
    manifest = node_modules / package / "package.json"
    if not manifest.is_file():
        raise RenderError(f"{manifest}: not found: run `npm ci` to install the pinned "
                          f"JavaScript packages")
    return json.loads(manifest.read_text(encoding="utf-8"))["version"]


def chart_bundle_names(node_modules: Path) -> dict[str, str]:
    """{"2d": "chartjs-4.6.1.min.js", "3d": "plotly-gl3d-4.1.1.min.js"}: versioned names, so a
    new pin is never served from a stale cache."""
    return {kind: f"{stem}-{package_version(node_modules, package)}.min.js"
            for kind, (package, _, stem) in CHART_BUNDLES.items()}


_FONT_SRC = re.compile(r"src:([^;}]*)")
_WOFF2 = re.compile(r"url\((fonts/[^)]+\.woff2)\)\s*format\([\"']woff2[\"']\)")


def woff2_only(css: str) -> str:
    """Keep only the woff2 entry of each @font-face src (every browser we target reads it),
    so no request goes to a ttf/woff file the site does not ship."""
    def keep(match: re.Match) -> str:
        woff2 = _WOFF2.search(match.group(1))
        return f'src:url({woff2.group(1)}) format("woff2")' if woff2 else match.group(0)
    return _FONT_SRC.sub(keep, css)


def katex_private_use_css(katex_js: str) -> str:
    """::before rules for every Private Use Area glyph KaTeX can emit (see katex.valid_html)."""
    points = sorted({int(h, 16) for h in re.findall(r"\\u([eE][0-9a-fA-F]{3})", katex_js)}
                    | {ord(c) for c in katex_js if "\ue000" <= c <= "\uf8ff"})
    return "".join(f'.katex .pua-{p:04x}::before{{content:"\\{p:04x}"}}' for p in points
                   if 0xE000 <= p <= 0xF8FF)


def copy_katex(node_modules: Path, static_out: Path) -> None:
    dist = node_modules / "katex" / "dist"
    if not (dist / "katex.min.css").is_file():
        raise RenderError(f"{dist}/katex.min.css: not found: run `npm ci`")
    target = static_out / "katex"
    (target / "fonts").mkdir(parents=True, exist_ok=True)
    css = woff2_only((dist / "katex.min.css").read_text(encoding="utf-8"))
    css += "\n" + katex_private_use_css((dist / "katex.min.js").read_text(encoding="utf-8"))
    (target / "katex.min.css").write_text(css, encoding="utf-8")
    for font in sorted((dist / "fonts").glob("*.woff2")):
        shutil.copy2(font, target / "fonts" / font.name)


def copy_chart_bundles(node_modules: Path, static_out: Path) -> dict[str, str]:
    """Copies both bundles under versioned names; returns those names."""
    names = chart_bundle_names(node_modules)
    for kind, (package, file, _) in CHART_BUNDLES.items():
        source = node_modules / package / file
        if not source.is_file():
            raise RenderError(f"{source}: not found: run `npm ci`")
        shutil.copy2(source, static_out / names[kind])
    return names


def pygments_css() -> str:
    from pygments.formatters import HtmlFormatter  # only when the assets are written
    light = HtmlFormatter(style=PYGMENTS_LIGHT).get_style_defs(".highlight")
    dark = HtmlFormatter(style=PYGMENTS_DARK).get_style_defs(':root[data-theme="dark"] .highlight')
    dark_default = HtmlFormatter(style=PYGMENTS_DARK).get_style_defs(
        ':root:not([data-theme="light"]) .highlight')
    return (f"/* generated from Pygments styles {PYGMENTS_LIGHT} / {PYGMENTS_DARK} */\n{light}\n"
            f"{dark}\n@media (prefers-color-scheme: dark) {{\n{dark_default}\n}}\n")


def copy_assets(static_dir: Path, node_modules: Path, out_dir: Path) -> dict[str, str]:
    """Copy everything into out_dir/static; returns {path under static/: short content hash}
    for cache-busting query strings."""
    static_out = out_dir / "static"
    if static_dir.is_dir():
        shutil.copytree(static_dir, static_out, dirs_exist_ok=True)
    static_out.mkdir(parents=True, exist_ok=True)
    copy_katex(node_modules, static_out)
    copy_chart_bundles(node_modules, static_out)
    (static_out / "css").mkdir(exist_ok=True)
    (static_out / "css" / "pygments.css").write_text(pygments_css(), encoding="utf-8")
    return {str(path.relative_to(static_out)): hashlib.sha256(path.read_bytes()).hexdigest()[:10]
            for path in static_out.rglob("*") if path.is_file() and path.suffix in (".css", ".js")}
