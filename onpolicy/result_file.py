"""Reading a result file's bytes into a document, whatever the bytes: anything that is not a
result file (too large, not UTF-8, not JSON, nested too deeply, NaN, 1e999, a number of
thousands of digits, not an object) raises ResultError naming the file and, where there is
one, the line; never another exception. `python build.py status` reports it as corrupt.
"""
from __future__ import annotations

import json
import math
import re
import stat
from pathlib import Path


class ResultError(Exception):
    """A result file that cannot be trusted (corrupt, hand-edited, invalid)."""


MAX_RESULT_BYTES = 64 * 2**20   # the largest result written today is under 2 MB
_NON_FINITE = re.compile(r"(?<![\w\"])(-?Infinity|NaN)(?![\w\"])")


class _Refused(ValueError):
    """A JSON value a result file may not hold: (its text, where to find it in the file)."""


def _reject_constant(name: str):
    raise _Refused(name, _NON_FINITE)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as inf
        raise _Refused(text, re.compile(re.escape(text)))
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 30:
        raise _Refused(f"{text[:12]}... ({len(text)} digits)", re.compile(re.escape(text)))
    return int(text)


def read_bytes(path: Path, where: str) -> bytes:
    try:
        info = Path(path).stat()
        size = info.st_size
        if not stat.S_ISREG(info.st_mode):  # a FIFO would block the read forever
            raise ResultError(f"{where}: not a regular file")
        if size > MAX_RESULT_BYTES:
            raise ResultError(f"{where}: {size / 2**20:.0f} MB, more than a result file can "
                              f"be ({MAX_RESULT_BYTES // 2**20} MB): not a result file, or "
                              "damaged")
        return Path(path).read_bytes()
    except OSError as err:
        raise ResultError(f"{where}: cannot read: {err.strerror}") from err


def parse(raw: bytes, where: str) -> dict:
    """The document of a result file's bytes: JSON, an object, a whole-number schema."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ResultError(f"{where}: not UTF-8 text (byte {err.object[err.start]:#04x} at "
                          f"offset {err.start})") from None
    try:
        document = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float,
                              parse_int=_bounded_int)
    except json.JSONDecodeError as err:
        raise ResultError(f"{where}:{err.lineno}: not valid JSON: {err.msg}") from err
    except _Refused as err:  # NaN, Infinity, 1e999: valid for Python's json, not for a result
        literal, pattern = err.args
        match = pattern.search(text)
        line = text.count("\n", 0, match.start()) + 1 if match else 1
        what = "its whole numbers are short" if "digits)" in literal else \
            "non-finite values are stored as null"
        raise ResultError(f"{where}:{line}: {literal} is not allowed in a result file "
                          f"({what})") from None
    except RecursionError:
        raise ResultError(f"{where}: not a result file: its JSON is nested too deeply") from None
    if not isinstance(document, dict):
        raise ResultError(f"{where}:1: not a result file (expected a JSON object)")
    version = document.get("schema")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ResultError(f"{where}: \"schema\" must be a whole number (got "
                          f"{json.dumps(version)})")
    return document
