"""What a page's front matter (and _site.yaml) may be: YAML read with bounds on what it can
cost (size, nesting, no aliases), and the checks of values that several files share."""
from __future__ import annotations

import yaml

from .errors import RenderError

MAX_FRONT_MATTER_BYTES = 64 * 1024   # what a page's front matter may cost: its size,
MAX_YAML_DEPTH = 20                  # how deeply it nests, and no aliases (*name) at all


class FrontMatterLoader(yaml.SafeLoader):
    """SafeLoader with bounds (no aliases, so no "billion laughs"; nesting at most
    MAX_YAML_DEPTH), and a date-like value that is no real date (2026-13-45) stays a string,
    so the date check can name its line instead of YAML raising a bare ValueError."""

    _depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, f"alias *{event.anchor}: aliases "
                                              "are not allowed here", event.start_mark)
        if self._depth >= MAX_YAML_DEPTH:
            raise yaml.composer.ComposerError(None, None, "nested more than "
                                              f"{MAX_YAML_DEPTH} levels deep", event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


FrontMatterLoader.add_constructor("tag:yaml.org,2002:timestamp",
                                  FrontMatterLoader.construct_yaml_timestamp)


def check_macros(macros, display_path: str, line: int) -> None:
    """KaTeX macros: a mapping of names (\\name) to their TeX, both text."""
    if macros is not None and not (isinstance(macros, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in macros.items())):
        raise RenderError.at(display_path, line, f"macros must be a mapping of names to TeX, "
                             f'e.g. macros: {{"\\\\E": "\\\\mathbb{{E}}"}}, not {macros!r:.60}')
