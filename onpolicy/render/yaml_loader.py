"""PyYAML with bounds on what a text can cost (size is checked by the callers; here: nesting,
and no aliases, so no "billion laughs"). Imported only when a YAML text is not in the cache
of parsed texts (front_matter.load_yaml): a prose edit does not load PyYAML."""
from __future__ import annotations

import yaml

from .errors import YamlError

MAX_YAML_DEPTH = 20  # how deeply a text may nest (and no aliases, *name, at all)


class FrontMatterLoader(yaml.SafeLoader):
    """SafeLoader with bounds (no aliases; nesting at most MAX_YAML_DEPTH), and a date-like
    value that is no real date (2026-13-45) stays a string, so the date check can name its
    line instead of YAML raising a bare ValueError."""

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


def parse(text: str):
    """The YAML text's value; YamlError (with PyYAML's marks' lines) if it does not parse."""
    try:
        return yaml.load(text, Loader=FrontMatterLoader)
    except yaml.MarkedYAMLError as err:
        raise YamlError(str(err), err.problem,
                        err.problem_mark.line if err.problem_mark else None,
                        err.context_mark.line if err.context_mark else None) from None
    except yaml.YAMLError as err:
        raise YamlError(str(err), str(err), None, None) from None
