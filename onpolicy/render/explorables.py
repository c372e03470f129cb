"""Explorable figures: a place in a page where an article's own script lets the reader drive
something (a slider over frozen data, a closed form, a model trained in the page).

The engine knows no explorable. A page places one with

    {{ explorable("dial", script="js/explore-dial.js", data="dial-curves",
                  label="...", caption="...") }}

and gets a <figure class="explorable"> holding a fallback text and a button; the data, when
named, comes from an @explorable_data("dial-curves") function of a content module (results ->
JSON-able dict) and is written to data/explorables/<data>.js as
`window.onpolicyExplorableData[id] = ...` (a script, so it loads from file:// too).
static/js/explorables.js loads the data and the script only when the figure comes near the
viewport or the reader presses its button, then calls the function the script registered
with `onpolicyExplorables.register(name, init)` as init(element, data, kit). Data named by
`on_demand="id"` is written the same way but loaded only when the script asks for it
(`kit.demand()`, e.g. when the reader presses Run).
"""
from __future__ import annotations

import json
from html import escape
from pathlib import Path

EXPLORABLE_DIR = "data/explorables"      # relative to the site root
DATA_GLOBAL = "onpolicyExplorableData"   # window.<this>[id] = data, set by each data file


def data_script(data_id: str, data) -> str:
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return (f"(window.{DATA_GLOBAL}=window.{DATA_GLOBAL}||{{}})"
            f"[{json.dumps(data_id)}]={payload};\n")


def write_data(data_id: str, data, out_dir: Path) -> list[str]:
    """Write <id>.js (what the page loads) and <id>.json (a download); the files written."""
    folder = out_dir / EXPLORABLE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{data_id}.js").write_text(data_script(data_id, data), encoding="utf-8")
    (folder / f"{data_id}.json").write_text(json.dumps(data, separators=(",", ":")),
                                            encoding="utf-8")
    return [f"{EXPLORABLE_DIR}/{data_id}.js", f"{EXPLORABLE_DIR}/{data_id}.json"]


def explorable_html(name: str, script_url: str, data_id: str | None, root: str, label: str,
                    caption_html: str, fallback_html: str, on_demand: str | None = None) -> str:
    """The placeholder static/js/explorables.js fills in when the reader comes near it.
    on_demand: a data id the script loads itself, when the reader asks (kit.demand())."""
    anchor = f"explore-{name}"
    data_attr = ""
    for attr, value in (("data", data_id), ("demand", on_demand)):
        if value:
            data_attr += (f' data-explorable-{attr}="{escape(value)}" data-explorable-{attr}'
                          f'-src="{root}{EXPLORABLE_DIR}/{escape(value)}.js"')
    return (
        f'<figure class="explorable" id="{anchor}" data-explorable="{escape(name)}" '
        f'data-explorable-src="{escape(script_url)}"{data_attr} '
        f'aria-labelledby="{anchor}-label">'
        f'<p class="explorable-label" id="{anchor}-label"><strong>Explore:</strong> '
        f'{escape(label)}</p>'
        f'<div class="explorable-body">{fallback_html}'
        f'<p class="explorable-start" hidden><button type="button">Open</button></p></div>'
        + (f'<figcaption class="caption">{caption_html}</figcaption>' if caption_html else "")
        + "</figure>")


class ExplorableData:
    """The data files of one render, each written once; with incremental reuse, copied from
    the current site when its key (like a chart's) is unchanged."""

    def __init__(self, build):
        self.build = build
        self.done: set[str] = set()

    def many(self, data_ids) -> None:
        for data_id in data_ids:
            self(data_id)

    def __call__(self, data_id: str) -> None:
        if data_id in self.done:
            return
        build, unit = self.build, f"explorable:{data_id}"
        before = build.reuse.previous_extra(unit) if build.reuse else None
        if before is not None and build.reuse.take(
                unit, build.keys.chart(unit, before["used_results"]), build.out_dir) is not None:
            self.done.add(data_id)
            return
        data, used = build.content.build_explorable_data(data_id, build.results)
        files = write_data(data_id, data, build.out_dir)
        if build.reuse:
            build.reuse.record(unit, build.keys.chart(unit, used), files,
                               {"used_results": used})
        self.done.add(data_id)
