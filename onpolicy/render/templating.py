"""Jinja: the page-body environment, number filters, and mapping errors back to source lines."""
from __future__ import annotations

import bisect
import difflib
import math
import re
import weakref
from collections.abc import Mapping
from pathlib import Path

import jinja2
from markupsafe import Markup

from .errors import RenderError
from .render_cache import template_cache


class NamedMapping(Mapping):
    """A template global (results, facts) whose missing keys give a readable error. It wraps
    the mapping without copying it: results are parsed only when read (pipeline.LoadedResults)."""

    def __init__(self, data: Mapping, what: str):
        self._data = data
        self.what = what

    def __getitem__(self, key):
        return self._data[key]

    def __contains__(self, key) -> bool:
        return key in self._data

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class PageUndefined(jinja2.StrictUndefined):
    """StrictUndefined whose message names the missing key and suggests near ones."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:  # jinja2 reads this when the value is used
        obj, name = self._undefined_obj, self._undefined_name
        if isinstance(obj, NamedMapping):
            if not obj:
                return f"no {obj.what} named {name!r} (none loaded)"
            close = difflib.get_close_matches(str(name), list(obj), n=6, cutoff=0.5)
            known = ", ".join(close) if close else ", ".join(sorted(obj)[:20]) + (
                ", ..." if len(obj) > 20 else "")
            label = "did you mean" if close else "known"
            return f"no {obj.what} named {name!r} ({label}: {known})"
        return "undefined: " + super()._undefined_message


BLOCK_TAGS = {"if", "for", "macro", "call", "filter", "block", "with", "autoescape", "trans",
              "set"}
INNERMOST = re.compile(r"innermost block that needs to be closed is '(\w+)'")


def opener_lines(env: jinja2.Environment, source: str) -> list[tuple[str, int]]:
    """The block tags still open at the end of `source`, outermost first, with their lines."""
    stack: list[tuple[str, int]] = []
    tokens = iter(env.lex(source))
    for line, kind, _ in tokens:
        if kind != "block_begin":
            continue
        words = []
        for line_now, kind, value in tokens:
            if kind == "block_end":
                break
            if kind != "whitespace":
                words.append((kind, value))
        if not words or words[0][0] != "name":
            continue
        tag = words[0][1]
        if tag == "set" and ("operator", "=") in words:
            continue  # {% set x = ... %} closes itself
        if tag in BLOCK_TAGS:
            stack.append((tag, line))
        elif tag.startswith("end"):
            for i in range(len(stack) - 1, -1, -1):
                if stack[i][0] == tag[3:]:
                    del stack[i:]
                    break
    return stack


class SourceLineEnvironment(jinja2.Environment):
    """Reports a block left open at the line of its opening tag (Jinja names the end of the
    file, which says nothing about where the missing {% endif %} belongs)."""

    def _parse(self, source, name, filename):
        try:
            return super()._parse(source, name, filename)
        except jinja2.TemplateSyntaxError as err:
            match = INNERMOST.search(err.message or "")
            opened = [line for tag, line in opener_lines(self, source)
                      if match and tag == match.group(1)]
            if opened and "Unexpected end of template" in err.message:
                err.args = (f"{{% {match.group(1)} %}} opened on this line is never closed: "
                            f"add {{% end{match.group(1)} %}} where it should end",)
                err.lineno = opened[-1]
            elif opened:
                err.args = (f"{err.message} (it was opened on line {opened[-1]})",)
            raise


def _number(value, name: str) -> float:
    if value is None:
        raise ValueError(f"{name}() got None (a missing or non-finite value)")
    if isinstance(value, jinja2.Undefined):
        str(value)  # raises the undefined error with its message
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name}() got {number}")
    return number


def percent(value, digits: int = 1) -> str:
    """0.9123 -> '91.2%' (digits after the point)."""
    return f"{_number(value, 'percent') * 100:.{digits}f}%"


def num(value, digits: int | None = None) -> str:
    """Thousands separators; digits after the point (default: 0 for integers, 2 otherwise)."""
    number = _number(value, "num")
    if digits is None:
        digits = 0 if float(number).is_integer() else 2
    return f"{number:,.{digits}f}"


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def sci(value, digits: int = 1, tex: bool = False) -> str:
    """1.23e-9 -> '1.2 × 10⁻⁹' (tex=True: '1.2 \\times 10^{-9}', for use inside $...$)."""
    number = _number(value, "sci")
    if number == 0:
        return "0"
    mantissa, exponent = f"{number:.{digits}e}".split("e")
    power = int(exponent)
    if tex:
        return f"{mantissa} \\times 10^{{{power}}}"
    return f"{mantissa} × 10{str(power).translate(_SUPERSCRIPT)}"


def markdown_text(value):
    """How `{{ value }}` enters a page body (Markdown): text with & < > escaped, so it reads
    the same after Markdown but never becomes markup (a description holding "<img ...>");
    quotes are kept, for Markdown's smart quotes. Markup (`| safe`, a macro's output, what a
    global marks as HTML) is the author's opt-in and passes unchanged."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return Markup(value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    return value


def body_environment(cache_dir: Path | None = None) -> jinja2.Environment:
    """Page bodies: every value escaped as text (markdown_text) unless marked safe;
    undefined names are errors. With cache_dir, compiled bodies are cached there
    (render_cache.template_cache)."""
    env = SourceLineEnvironment(undefined=PageUndefined, autoescape=True,
                                finalize=markdown_text, keep_trailing_newline=True)
    env.filters.update(percent=percent, num=num, sci=sci)
    template_cache(env, cache_dir)
    return env


def layout_environment(templates_dir: Path, cache_dir: Path | None = None) -> jinja2.Environment:
    env = SourceLineEnvironment(loader=jinja2.FileSystemLoader(str(templates_dir)),
                             undefined=PageUndefined, autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(percent=percent, num=num, sci=sci)
    template_cache(env, cache_dir)
    return env


def compile_body(env: jinja2.Environment, source: str, filename: str) -> jinja2.Template:
    """Compile with `filename` so tracebacks and frames can be mapped back to lines; through
    the environment's bytecode cache when it has one (as a loader would)."""
    cache = env.bytecode_cache
    bucket = cache.get_bucket(env, filename, filename, source) if cache else None
    code = bucket.code if bucket else None
    if code is None:
        code = env.compile(source, name=filename, filename=filename)
        if bucket:
            bucket.code = code
            cache.set_bucket(bucket)
    return env.template_class.from_code(env, code, env.make_globals(None))


_LINE_MAPS: "weakref.WeakKeyDictionary[jinja2.Template, tuple]" = weakref.WeakKeyDictionary()


def _template_line(template: jinja2.Template, code_line: int) -> int:
    """template.get_corresponding_lineno(code_line), without parsing the template's line
    map again on every call (a long page asks for its line at every chart)."""
    if template not in _LINE_MAPS:
        pairs = template.debug_info  # (template line, code line), code lines ascending
        _LINE_MAPS[template] = ([code for _, code in pairs], [line for line, _ in pairs])
    code_lines, template_lines = _LINE_MAPS[template]
    at = bisect.bisect_right(code_lines, code_line)
    return template_lines[at - 1] if at else 1


def traceback_line(error: BaseException, filename: str) -> int | None:
    """Jinja rewrites tracebacks so template frames carry template line numbers."""
    line = None
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render_reporting_lines(template: jinja2.Template, context: Mapping, display_path: str,
                           line_offset: int, source_name: str | None = None) -> str:
    """Render; any failure becomes RenderError('display_path:LINE: ...').

    line_offset: lines before the template's first line in the file (the front matter).
    """
    filename = source_name or template.filename
    try:
        return template.render(context)
    except RenderError:
        raise
    except jinja2.TemplateError as err:
        line = traceback_line(err, filename) or getattr(err, "lineno", None)
        raise RenderError.at(display_path, (line or 1) + line_offset,
                             f"{type(err).__name__}: {err.message or err}") from None
    except Exception as err:  # a filter or global failed: report where it was called
        line = traceback_line(err, filename)
        raise RenderError.at(display_path, (line or 1) + line_offset,
                             f"{type(err).__name__}: {err}") from None
