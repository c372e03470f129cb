"""`python build.py new SLUG`: a new article folder that builds at once.

It writes site_src/SLUG/index.md (front matter, a sentence quoting a fact, a figure),
facts.py and figures.py, and appends an example row "SLUG-example" (supervised learning on
synthetic data, seconds to train) to the experiment table, so that
`python build.py --quick` trains it and renders the new page.
"""
from __future__ import annotations

import ast
import datetime as dt
import importlib.util
import re
from pathlib import Path
from string import Template

from .config import BuildConfig, shown
from .errors import BuildError
from .render.pages import page_sources

SLUG = re.compile(r"[a-z][a-z0-9-]{0,39}")

INDEX_MD = Template('''\
---
title: "$title"
date: $date
description: "A new article: say here, in a sentence, what the reader will learn."
template: article.html
slug: $slug
---
{#- Numbers come from facts.py beside this file, figures from figures.py. A require() turns a
    claim into a check: the build fails if a rerun makes it false. -#}
{{ require(facts.${ident}_final_accuracy > facts.${ident}_chance,
           "the example classifier no longer beats chance") -}}
The example experiment `$row` trained a small network on synthetic data for
{{ facts.${ident}_steps }} steps. It got {{ facts.${ident}_final_accuracy | percent }} of the
held-out points right, where guessing gets {{ facts.${ident}_chance | percent(0) }}.

{{ chart("$slug-accuracy", caption="Held-out accuracy while the example network trains: mean over seeds, with a 95% band.", alt="Accuracy of the example network over training.") }}
''')

FACTS_PY = Template('''\
"""The numbers site_src/$slug/index.md quotes, computed from result payloads (no I/O).

compute(results) gets experiment name -> result payload (docs/ARCHITECTURE.md) and returns
facts; pages read them as facts.<key>. Keys are site-wide, so they start with "${ident}_".
"""
ROW = "$row"  # its row in the experiment table (experiments/suite.py)


def compute(results):
    payload = results.get(ROW)
    if payload is None:  # not loaded: a sentence that quotes these fails by name
        return {}
    return {"${ident}_final_accuracy": payload["final_accuracy"]["mean"],
            "${ident}_steps": payload["steps"][-1],
            "${ident}_chance": 1 / payload["n_actions"]}
''')

FIGURES_PY = Template('''\
"""The figures of site_src/$slug/: @figure functions, results -> plotly Figure."""
import plotly.graph_objects as go

from onpolicy.render.figkit import PALETTE, band, base_figure, figure, need

from .facts import ROW


@figure("$slug-accuracy")
def accuracy(results):
    payload = need(results, ROW)
    steps, acc = payload["steps"], payload["accuracy"]
    fig = base_figure(xaxis=dict(title=dict(text="training step")),
                      yaxis=dict(title=dict(text="held-out accuracy"), tickformat=".0%"))
    band(fig, steps, acc["lo"], acc["hi"], PALETTE[0], "accuracy", "accuracy")
    fig.add_trace(go.Scatter(x=steps, y=acc["mean"], mode="lines", name="accuracy",
                             line=dict(color=PALETTE[0], width=2)))
    return fig
''')

SUITE_ROW = Template('''

# -- $row: the example row of site_src/$slug/ (from `python build.py new $slug`) --
EXPERIMENTS.append(Experiment("$row", "experiments.methods.supervised", {
    "task": "binary", "method": "supervised",
    "data": {"name": "synthetic", "n_train": 1024, "n_eval": 256, "dim": 64,
             "n_classes": 10, "seed": 0},
    "hidden": 32, "lr": 1e-3, "batch_size": 32, "steps": 60, "eval_every": 10,
    "seeds": [0, 1, 2], "behaviour_eps": 1.0,
    "quick": {"steps": 40, "seeds": [0, 1]},
}))
''')


def suite_file(cfg: BuildConfig) -> Path:
    """The file of the experiment table module (found, not imported)."""
    spec = importlib.util.find_spec(cfg.suite)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise BuildError(f"cannot find the experiment table {cfg.suite!r} as a .py file")
    return Path(spec.origin)


def _check_suite(path: Path, row: str, root: Path) -> None:
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text, filename=str(path))
    names = {t.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
             for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
             if isinstance(t, ast.Name)}
    imported = {a.asname or a.name for node in tree.body if isinstance(node, ast.ImportFrom)
                for a in node.names}
    if "EXPERIMENTS" not in names or ("Experiment" not in imported and "class Experiment"
                                      not in text):
        raise BuildError(f"{shown(path, root)}: no EXPERIMENTS list and Experiment class to "
                         "add the example row to")
    if f'"{row}"' in text:
        raise BuildError(f"{shown(path, root)}: already has a row named {row!r}")


def new_article(cfg: BuildConfig, slug: str, log=print) -> list[Path]:
    """Create the article folder and its example row; BuildError (nothing written) if the
    slug is invalid or taken."""
    if not SLUG.fullmatch(slug):
        raise BuildError(f"{slug!r} is not a valid slug: use a lowercase letter, then "
                         "lowercase letters, digits and '-' (at most 40 characters)")
    folder = cfg.src_dir / slug
    if folder.exists():
        raise BuildError(f"{shown(folder, cfg.root)} already exists: choose another slug")
    for path, name in page_sources(cfg.src_dir) if cfg.src_dir.is_dir() else []:
        if name == slug or re.search(rf"^slug:\s*[\"']?{re.escape(slug)}[\"']?\s*$",
                                     path.read_text(encoding="utf-8"), re.M):
            raise BuildError(f"{shown(path, cfg.root)} already uses the name {slug!r}")
    row = f"{slug}-example"
    suite = suite_file(cfg)
    _check_suite(suite, row, cfg.root)
    fields = {"slug": slug, "ident": slug.replace("-", "_"), "row": row,
              "title": slug.replace("-", " ").capitalize(), "date": dt.date.today().isoformat()}
    folder.mkdir(parents=True)
    written = []
    for name, template in (("index.md", INDEX_MD), ("facts.py", FACTS_PY),
                           ("figures.py", FIGURES_PY)):
        (folder / name).write_text(template.substitute(fields), encoding="utf-8")
        written.append(folder / name)
    with suite.open("a", encoding="utf-8") as table:
        table.write(SUITE_ROW.substitute(fields))
    written.append(suite)
    for path in written:
        log(f"wrote {shown(path, cfg.root)}")
    for line in next_steps(slug, row, shown(suite, cfg.root)):
        log(line)
    return written


def next_steps(slug: str, row: str, suite: str) -> list[str]:
    return [
        f"next: python build.py --quick   trains only {row} (tiny runs on synthetic data, "
        "seconds, offline) and renders the site; every other row uses its frozen result",
        f"then: python build.py           freezes {row} in results/ (commit it with "
        f"site_src/{slug}/ and {suite})",
        "      .venv/bin/python -m tests.site_snapshot   the site readers see has a new page: "
        "record it in tests/golden/site.json, or `make test` fails test_golden",
        f"to remove the article: delete site_src/{slug}/, the block '# -- {row}' at the end of "
        f"{suite}, results/{row}.json and .cache/quick/{row}.json "
        "(`python build.py status` lists result files no row claims)",
    ]
