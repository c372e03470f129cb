"""What a page's front matter (and _site.yaml) may be: YAML read with bounds on what it can
cost (size, nesting, no aliases), parsed texts remembered from one build to the next, and the
checks of values that several files share."""
from __future__ import annotations

import datetime as dt
import functools
import importlib.util
import os
from pathlib import Path

from .. import file_digests
from ..contract import sha256
from .errors import RenderError, YamlError  # noqa: F401 (YamlError: raised here)

MAX_FRONT_MATTER_BYTES = 64 * 1024   # what a page's front matter may cost (its nesting and
                                     # aliases: yaml_loader.py)


def load_yaml(text: str, root: Path | None):
    """The value of a YAML text (yaml_loader.parse), from root's cache of parsed texts when
    this text was parsed before by the same loader and PyYAML (PyYAML's import is ~15 ms of a
    prose edit's rebuild). Raises YamlError. Only values that JSON can hold exactly (with
    dates tagged) are remembered; the others are parsed every time."""
    key = f"yaml\0{sha256(_parser_version() + text)}"
    if root is not None:
        found = file_digests.recall(root, key)
        if isinstance(found, dict) and "value" in found:
            try:
                return _decode(found["value"])
            except (TypeError, ValueError, KeyError, AttributeError):
                pass  # a damaged entry: parse again
    from .yaml_loader import parse
    value = parse(text)
    encoded = _encode(value)
    if root is not None and encoded is not _UNSUPPORTED:
        file_digests.remember(root, key, {"value": encoded})
    return value


@functools.lru_cache(maxsize=1)
def _parser_version() -> str:
    """What the parse depends on besides the text: the loader's code and PyYAML's files
    (found without importing it)."""
    loader = Path(__file__).with_name("yaml_loader.py")
    spec = importlib.util.find_spec("yaml")
    origin = spec.origin if spec and spec.origin else ""
    stat = os.stat(origin) if origin else None
    return (sha256(loader.read_text(encoding="utf-8")) + f"\0{origin}\0"
            + (f"{stat.st_size}:{stat.st_mtime_ns}" if stat else "") + "\0")


_UNSUPPORTED = object()


def _encode(value):
    """value as JSON that _decode turns back into an equal value of the same types, or
    _UNSUPPORTED (a set, bytes, a key that is not text, ...)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, list):
        items = [_encode(v) for v in value]
        return _UNSUPPORTED if any(v is _UNSUPPORTED for v in items) else {"list": items}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        items = {k: _encode(v) for k, v in value.items()}
        return _UNSUPPORTED if any(v is _UNSUPPORTED for v in items.values()) \
            else {"map": items}
    return _UNSUPPORTED


def _decode(value):
    if not isinstance(value, dict):
        return value
    (tag, inner), = value.items()
    if tag == "map":
        return {k: _decode(v) for k, v in inner.items()}
    if tag == "list":
        return [_decode(v) for v in inner]
    if tag == "datetime":
        return dt.datetime.fromisoformat(inner)
    if tag == "date":
        return dt.date.fromisoformat(inner)
    raise ValueError(f"unknown tag {tag!r}")


def check_macros(macros, display_path: str, line: int) -> None:
    """KaTeX macros: a mapping of names (\\name) to their TeX, both text."""
    if macros is not None and not (isinstance(macros, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in macros.items())):
        raise RenderError.at(display_path, line, f"macros must be a mapping of names to TeX, "
                             f'e.g. macros: {{"\\\\E": "\\\\mathbb{{E}}"}}, not {macros!r:.60}')
