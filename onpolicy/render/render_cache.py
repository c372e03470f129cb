"""Caches of the render in .cache/, keyed by content hashes, so a prose edit redoes only the
page it changed: the facts the content folders compute, and compiled Jinja templates.

Both are only ever a shortcut: an entry that is missing, unreadable or damaged is ignored and
written again, and a build from the caches equals one without them byte for byte.

* facts: `.cache/facts/<key>.json`, where the key (render.unit_keys.UnitKeys.facts) hashes the
  content modules' code, the loaded results' hashes, the renderer's code and the library
  versions. Facts are cached only when they are made of dicts, lists, tuples, text, numbers,
  booleans and None, stored with their types (see encode), so reading them back gives equal
  values of the same types; facts holding anything else are recomputed on every build.
  Written atomically (onpolicy/atomic.py); the newest FACTS_KEPT entries are kept.
* templates: a Jinja2 bytecode cache in `.cache/jinja/` (TemplateCache): Jinja's key of the
  template (its name and file) and the sha1 of its source, plus a hash of the environment's
  settings, Jinja's version and Python's (the same source compiles differently under other
  settings); each entry carries a sha256 of all that and of its code. One file per template
  (a new version of its source replaces the entry). Written atomically.
"""
from __future__ import annotations

import hashlib
import json
import marshal
import sys
from pathlib import Path

import jinja2
from jinja2.bccache import Bucket

from .. import atomic
from ..contract import sha256

FACTS_KEPT = 8


class NotPlain(Exception):
    """A value the facts cache cannot store exactly."""


CONTAINERS = {"dict": dict, "list": list, "tuple": tuple}


def encode(value):
    """value -> JSON-ready data that decode() turns back into an equal value of the same
    types: containers are tagged ({"list": [...]}, {"dict": [[key, value], ...]}, so keys
    keep their types), scalars are left as they are. NotPlain for any other type."""
    kind = type(value)
    if kind in (str, int, float, bool) or value is None:
        return value
    if kind is dict:
        return {"dict": [[encode(k), encode(v)] for k, v in value.items()]}
    if kind in (list, tuple):
        return {kind.__name__: [encode(v) for v in value]}
    raise NotPlain(kind.__name__)


def decode(data):
    if not isinstance(data, dict):
        return data
    (tag, items), = data.items()
    if tag == "dict":
        return {decode(k): decode(v) for k, v in items}
    return CONTAINERS[tag](decode(v) for v in items)


class FactsCache:
    def __init__(self, cache_dir: Path):
        self.folder = Path(cache_dir) / "facts"

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def load(self, key: str) -> dict | None:
        """The facts stored under key, or None (no entry, or a damaged one)."""
        try:
            entry = json.loads(self.path(key).read_text(encoding="utf-8"))
            if entry["key"] != key or entry["check"] != sha256(entry["facts"]):
                return None
            facts = decode(json.loads(entry["facts"]))
            return facts if type(facts) is dict else None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def store(self, key: str, facts: dict) -> bool:
        """Best effort; False when the facts hold other types or cannot be written."""
        try:
            text = json.dumps(encode(facts), separators=(",", ":"))
        except NotPlain:
            return False
        try:
            atomic.write_text(self.path(key), json.dumps(
                {"key": key, "check": sha256(text), "facts": text}))
            atomic.keep_newest(self.folder, "*.json", FACTS_KEPT)
        except OSError:
            return False
        return True


def environment_tag(env: jinja2.Environment) -> str:
    """A hash of what decides how an environment compiles a source."""
    settings = [type(env).__qualname__, jinja2.__version__, sys.version, env.block_start_string,
                env.block_end_string, env.variable_start_string, env.variable_end_string,
                env.comment_start_string, env.comment_end_string, env.line_statement_prefix,
                env.line_comment_prefix, env.trim_blocks, env.lstrip_blocks,
                env.newline_sequence, env.keep_trailing_newline,
                getattr(env.autoescape, "__qualname__", env.autoescape),
                env.optimized, sorted(env.extensions), sorted(env.filters), sorted(env.tests)]
    return sha256(json.dumps(settings, default=str))[:16]


class TemplateCache(jinja2.BytecodeCache):
    """Compiled templates in files: `<tag>-<Jinja's key>.cache` holds a sha256 line, then the
    marshalled code. The sha256 covers the environment tag, Jinja's key, the sha1 of the
    source (Jinja's checksum) and the code itself, so a stale, truncated or damaged entry is
    a miss (Jinja's own file cache would run damaged code whose header still matched)."""

    def __init__(self, folder: Path, tag: str):
        self.folder = Path(folder)
        self.tag = tag

    def path(self, bucket: Bucket) -> Path:
        return self.folder / f"{self.tag}-{bucket.key}.cache"

    def _seal(self, bucket: Bucket, code: bytes) -> bytes:
        stamp = f"{self.tag}\0{bucket.key}\0{bucket.checksum}\0".encode()
        return hashlib.sha256(stamp + code).hexdigest().encode()

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            seal, _, code = self.path(bucket).read_bytes().partition(b"\n")
            if seal == self._seal(bucket, code):
                bucket.code = marshal.loads(code)
        except (OSError, EOFError, ValueError, TypeError):
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        """Best effort: a cache that cannot be written only makes the next build slower."""
        code = marshal.dumps(bucket.code)
        try:
            atomic.write_bytes(self.path(bucket), self._seal(bucket, code) + b"\n" + code)
        except OSError:
            pass


def template_cache(env: jinja2.Environment, cache_dir: Path | None) -> None:
    """Give env a bytecode cache in cache_dir/jinja (nothing when cache_dir is None)."""
    if cache_dir is not None:
        env.bytecode_cache = TemplateCache(Path(cache_dir) / "jinja", environment_tag(env))
