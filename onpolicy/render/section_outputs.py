"""A page's Jinja rendered section by section, each section's output reused while its inputs stay.

sections.py cuts a page body into chunks (the preamble, then one per "## " heading) that render
in order, each with the page's globals plus the top-level names the chunks before it assigned.
A prose edit changes one chunk; this module renders only the chunks whose key changed and
replays the others: their text and every side effect their rendering had on the page body
(figures and their anchors, figure references, explorables and their data, the charts and data
registered with the build, in call order, and the warnings the body gave), in chunk order.

A chunk's key (PageSections.output_key) covers
* the page's shared inputs: the page unit's key without the page's own text (templates,
  _site.yaml, every page's front matter, the content modules, the results, the assets, the
  renderer's code and the library versions: unit_keys.UnitKeys.page_shared);
* its own source (not the line it starts at: the source lines its figures carry are kept
  counted from its first line, so adding a line above it does not change it; only a chunk
  that warned, naming a line, is replayed at the same line alone);
* the keys of the earlier chunks that assign a name it reads (so a value computed from a value
  computed in an edited chunk is seen, however far back);
* the page body's state before it: the number of figures, the anchors and figure references
  given so far, the explorables placed so far (its figure numbers and anchors follow them).

A chunk is kept only when what it assigns at its top level is plain data (text, numbers,
lists, dicts, Markup): a macro is bound to the build that rendered it, so a chunk defining one (the
article's preamble) is rendered on every build. tests/test_section_outputs.py checks that a
build from this cache equals one without it, byte for byte, after each kind of edit.
"""
from __future__ import annotations

from markupsafe import Markup

PLAIN = (str, int, float, bool, type(None), Markup)
MARKUP = "\0markup"  # {MARKUP: text} stands for Markup(text) (a `set` block's value)


def plain(value) -> bool:
    """Data that a JSON round trip (with _encoded) gives back unchanged: exact types, no
    tuple, no macro."""
    kind = type(value)
    if kind in PLAIN:
        return True
    if kind is list:
        return all(plain(v) for v in value)
    if kind is dict:
        return MARKUP not in value and all(type(k) is str and plain(v)
                                           for k, v in value.items())
    return False


def _encoded(value):
    kind = type(value)
    if kind is Markup:
        return {MARKUP: str(value)}
    if kind is list:
        return [_encoded(v) for v in value]
    if kind is dict:
        return {k: _encoded(v) for k, v in value.items()}
    return value


def _decoded(value):
    kind = type(value)
    if kind is list:
        return [_decoded(v) for v in value]
    if kind is dict:
        return Markup(value[MARKUP]) if MARKUP in value else {k: _decoded(v)
                                                               for k, v in value.items()}
    return value


def state_before(body) -> list:
    return [len(body.figures), sorted(body.anchors.items()), sorted(body.figrefs),
            [name for name, _, _ in body.explorables]]


def _mark(body) -> tuple:
    return (len(body.figures), set(body.anchors), set(body.figrefs), len(body.explorables),
            len(body.explorable_data), len(body.calls), len(body.warned))


def _record(body, mark: tuple, start: int, text: str, assigned: dict) -> dict | None:
    """What rendering the chunk did (source lines counted from its first line), or None
    when it cannot be replayed."""
    if not plain(assigned):
        return None
    figures, anchors, figrefs, explorables, data, calls, warned = mark
    warnings = body.warned[warned:]
    return {"text": text, "vars": _encoded(assigned),
            "figures": [[a, html, line - start] for a, html, line in body.figures[figures:]],
            "anchors": {k: v for k, v in body.anchors.items() if k not in anchors},
            "figrefs": {k: v - start for k, v in body.figrefs.items() if k not in figrefs},
            "explorables": [[n, html, line - start]
                            for n, html, line in body.explorables[explorables:]],
            "explorable_data": body.explorable_data[data:],
            "calls": [list(c) for c in body.calls[calls:]],
            # a warning names its line: replayed only where the chunk starts at the same line
            "warnings": warnings, "warned_at": start if warnings else None}


def _replay(body, entry: dict, start: int) -> None:
    for kind, ident in entry["calls"]:  # their files are in the new site too, in this order
        if kind == "chart":
            body.build.chart_files(ident)
        else:
            body.build.explorable_data(ident)
    body.figures += [(a, html, line + start) for a, html, line in entry["figures"]]
    body.anchors.update(entry["anchors"])
    body.figrefs.update({k: v + start for k, v in entry["figrefs"].items()})
    body.explorables += [(n, html, line + start) for n, html, line in entry["explorables"]]
    body.explorable_data += entry["explorable_data"]
    for warning in entry["warnings"]:
        body.build.warn(warning)


def render_sections(body, sections) -> str | None:
    """The body's Jinja section by section; None: take the whole-page path, which also
    reports any error with its usual message and line."""
    from .sections import Unsplittable
    try:
        chunks = sections.templates()
    except Unsplittable:
        return None
    context, out, keys = body.globals(), [], []
    try:
        for i, (template, offset) in enumerate(chunks):
            start = offset + body.page.body_offset
            key = sections.output_key(i, keys, state_before(body))
            keys.append(key)
            entry = sections.output(key, start)
            if entry is not None:
                _replay(body, entry, start)
                out.append(entry["text"])
                context = {**context, **_decoded(entry["vars"])}
                continue
            mark = _mark(body)
            template = template()  # compiled (or loaded from the bytecode cache) only now
            body.frames[template.filename] = (template, offset)
            state = template.new_context(context)
            out.append(template.environment.concat(template.root_render_func(state)))
            context = {**context, **state.vars}  # its sets and macros, for those after it
            sections.store_output(key, _record(body, mark, start, out[-1], dict(state.vars)))
    except Exception:
        for state in (body.figures, body.anchors, body.figrefs, body.explorables,
                      body.explorable_data, body.calls, body.warned):
            state.clear()
        body.frames = {}
        return None
    return "".join(out)
