"""`python build.py`: build the site, preview it, or see which experiments are stale."""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from .cli_checks import conflicts, describe_os_error, module_name
from .config import BuildConfig, shown
from .errors import ConfigError, RenderError  # not .render: a no-op never loads it

EXAMPLES = """\
examples:
  python build.py                      train stale experiments, then render public/
  python build.py status               which results are fresh or stale, and why
  python build.py --frozen             never train; fail if any result is stale (CI, Pages)
  python build.py --rerun NAME         retrain one experiment (repeatable; 'all')
  python build.py --quick              tiny runs of what changed (.cache/quick/); results/ untouched
  python build.py --no-train           render only; stale experiments are reported, not run
  python build.py serve                preview on http://127.0.0.1:8000/ with live reload
  python build.py --device cuda        train on the GPU (default: auto)
  MNIST_DIR=~/mnist python build.py    offline MNIST (the four IDX .gz files)
  python build.py --base-url https://user.github.io/onpolicy/   absolute URLs for feed/sitemap
  python build.py new my-article       a new article folder in site_src/ with an example row
"""


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value


def port_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is out of range: use 1-65535 (0: any free "
                                         "port)")
    return value


def site_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.username \
            or parts.password or any(c.isspace() for c in text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an absolute http(s) URL, e.g. "
                                         "https://user.github.io/onpolicy/")
    return text


def directory(text: str) -> Path:
    path = Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text} does not exist")
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a directory (give the "
                                         "directory that holds the IDX .gz files)")
    return path


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="tiny steps/seeds for fast iteration: rows whose frozen "
                             "result is not fresh train into .cache/quick/ (results/ is never "
                             "written); the others render from results/")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                        help="where to train (default: auto = cuda if available)")
    parser.add_argument("--threads", type=positive_int, metavar="N",
                        help="CPU threads for training (default: torch's choice; use 1 on a "
                             "busy machine, where oversubscribed threads are much slower)")
    parser.add_argument("--workers", type=positive_int, metavar="N",
                        help="CPU training processes that share the --threads (default: one "
                             "per thread, each at one thread: faster than one process with "
                             "several threads for this suite's small tensors; 1: train in "
                             "this process)")
    parser.add_argument("--data-dir", "--mnist-dir", dest="data_dir", type=directory,
                        metavar="DIR",
                        help="directory with the datasets' files; for this article the MNIST "
                             "IDX .gz files (or set MNIST_DIR); default: data/MNIST/raw, "
                             "downloaded by torchvision when online")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="train only this experiment (repeatable); the site still "
                             "uses every result on disk")
    parser.add_argument("--suite", default="experiments.suite", metavar="MODULE", type=module_name,
                        help="module with the experiment table (default: experiments.suite)")


def _build_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rerun", action="append", default=[], metavar="NAME|all",
                        help="force a rerun of an experiment even if fresh (repeatable; 'all')")
    parser.add_argument("--frozen", action="store_true",
                        help="never train: fail with a list if any result is stale or missing")
    parser.add_argument("--no-train", action="store_true",
                        help="render with the results on disk; report stale ones, don't train")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="output directory (default: public/); it must be new, empty or "
                             "an earlier build's output (marked by a .onpolicy-site file)")
    parser.add_argument("--base-url", type=site_url, metavar="URL",
                        help="the site's absolute URL, for feed, sitemap, canonical and OG links")
    parser.add_argument("--source-url", type=site_url, metavar="URL",
                        help="the source repository's URL for the footer's source link "
                             "(default: source_url in site_src/_site.yaml)")
    parser.add_argument("--drafts", action="store_true", help="also render pages marked draft")
    parser.add_argument("--no-fuse", action="store_true",
                        help="train each run unit as its own model instead of fusing the "
                             "stale experiments' compatible runs into one (slower; a reference)")
    parser.add_argument("--results-dir", type=Path, metavar="DIR",
                        help="read and write frozen results here instead of results/ (e.g. a "
                             "scratch directory for a timing run that must not touch results/)")
    parser.add_argument("--executor", choices=["local", "ray"], default="local",
                        help="run stale experiments here (local) or as Ray tasks")
    parser.add_argument("--ray-address", metavar="ADDR",
                        help="Ray cluster to join (e.g. 10.0.0.5:6379); default: local Ray")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build.py", description="Build the onpolicy site: run stale experiments, export "
        "their results, render public/.", epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="{build,serve,status,new}")
    build = sub.add_parser("build", help="train stale experiments and render the site (default)",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(build)
    _build_flags(build)
    # `build.py --help` lists the flags too: they belong to `build`, the default command.
    flags = build.format_help().split("\n\n", 1)[1].splitlines()[2:]  # no heading, no -h
    parser.epilog = ("build flags (python build.py --quick = python build.py build --quick; "
                     "serve takes them too, see serve --help):\n" + "\n".join(flags)
                     + "\n\n" + EXAMPLES)
    build.epilog = EXAMPLES
    serve = sub.add_parser("serve", help="preview with live reload; rebuilds on change")
    _common(serve)
    _build_flags(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=port_number, default=8000,
                       help="port (default: 8000; 0: any free port)")
    serve.add_argument("--train", action="store_true",
                       help="also train stale experiments on rebuild (default: report only)")
    status = sub.add_parser("status", help="table of experiments: fresh or stale, and why")
    _common(status)
    status.add_argument("--check", action="store_true",
                        help="exit with status 3 when a result is not fresh, so a build would "
                             "train (make site installs PyTorch only then)")
    new = sub.add_parser("new", help="scaffold an article: site_src/SLUG/ (page, facts.py, "
                         "figures.py) and an example row in the experiment table")
    new.add_argument("slug", metavar="SLUG",
                     help="folder name and URL of the article: lowercase letters, digits, '-'")
    new.add_argument("--suite", default="experiments.suite", metavar="MODULE", type=module_name,
                     help="experiment table to add the example row to "
                          "(default: experiments.suite)")
    return parser


def config_from(args: argparse.Namespace) -> BuildConfig:
    cfg = BuildConfig()
    rerun = tuple(getattr(args, "rerun", []) or ())
    cfg = replace(cfg, quick=args.quick, device=args.device, threads=args.threads,
                  workers=args.workers, data_dir=args.data_dir,
                  experiments=tuple(args.only), rerun=rerun, suite=args.suite,
                  frozen=getattr(args, "frozen", False),
                  train=not getattr(args, "no_train", False),
                  base_url=getattr(args, "base_url", "") or "",
                  source_url=getattr(args, "source_url", "") or "",
                  drafts=getattr(args, "drafts", False),
                  executor=getattr(args, "executor", "local"),
                  ray_address=getattr(args, "ray_address", None))
    cfg = replace(cfg, fuse=not getattr(args, "no_fuse", False))
    if getattr(args, "results_dir", None):
        cfg = replace(cfg, results_dir=args.results_dir.resolve())
    if getattr(args, "out", None):
        cfg = replace(cfg, out_dir=Path(os.path.abspath(args.out)))  # a link is not followed
    return cfg


def unclaimed_results(cfg: BuildConfig, names: set[str]) -> list[Path]:
    """Result files no row of the experiment table claims (e.g. of a removed article)."""
    folders = [cfg.results_dir] + ([cfg.quick_dir] if cfg.quick else [])
    return [path for folder in folders if folder.is_dir()
            for path in sorted(folder.glob("*.json")) if path.stem not in names]


def print_status(cfg: BuildConfig, check: bool = False) -> int:
    from .pipeline import from_quick_run, statuses, suite

    rows = statuses(cfg)
    width = max(len(s.name) for s in rows)
    where = shown(cfg.results_dir, cfg.root)
    print(f"results in {where}/" if not cfg.quick else
          f"results in {shown(cfg.quick_dir, cfg.root)}/ (--quick), or the fresh ones in {where}/")
    print(f"{'experiment':<{width}}  {'state':<8}  why")
    for s in rows:
        why = "; ".join(s.reasons) if s.reasons else "inputs unchanged"
        if s.fresh and s.header:
            made = s.header["provenance"]
            device = made.get("device_name") if made.get("device") == "cuda" else None
            why += (f" (recorded {made.get('wall_time_s')} s on {made.get('device')}"
                    f"{f', {device}' if device else ''}"
                    f"{', --quick' if from_quick_run(cfg, s) else ''})")
        print(f"{s.name:<{width}}  {s.state:<8}  {why}")
    counts = {state: sum(s.state == state for s in rows)
              for state in ("fresh", "stale", "missing", "corrupt")}
    print(", ".join(f"{n} {state}" for state, n in counts.items() if n))
    if any(s.fresh for s in rows):
        print("recorded: the training time stored in the result where it was trained (a "
              "share of the run when rows were fused into one); retraining on another device, "
              "a CPU above all, takes longer: see README.md, 'GPU'")
    unclaimed = unclaimed_results(cfg, {e.name for e in suite(cfg)})
    if cfg.suite != BuildConfig.suite:  # another table: the files may well be the default's
        if unclaimed:
            print(f"{len(unclaimed)} result file(s) belong to no row of {cfg.suite}")
    else:
        for path in unclaimed:
            print(f"{shown(path, cfg.root)}: no row of the experiment table claims it (left "
                  "by a removed or renamed row?): delete it")
    return 3 if check and counts["fresh"] < len(rows) else 0


def new_command(args: argparse.Namespace) -> int:
    from .errors import BuildError
    from .scaffold import new_article

    try:
        new_article(replace(BuildConfig(), suite=args.suite), args.slug)
    except BuildError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv.insert(0, "build")
    args = make_parser().parse_args(argv)
    if args.command == "new":
        return new_command(args)
    if conflicts(args):
        print(f"error: {conflicts(args)}", file=sys.stderr)
        return 2
    cfg = config_from(args)

    from .deps import DependencyError
    from .freeze import ResultError
    from .pipeline import BuildError, build
    from .contract import load_suite

    try:  # the experiment package's own bad-input errors (this article: missing MNIST files)
        data_errors = load_suite(cfg.suite).errors
    except Exception:  # a suite that does not load: the build says why, with the file
        data_errors = ()
    errors = (BuildError, ResultError, DependencyError, ConfigError, RenderError, *data_errors)
    try:
        if args.command == "status":
            return print_status(cfg, check=args.check)
        if args.command == "serve":
            from .outdir import check_out_dir
            from .serve import serve

            check_out_dir(cfg)  # never serve (or rebuild into) a directory the build must not own

            def rebuild() -> None:  # errors propagate: the server shows them in the page
                build(replace(cfg, train=args.train and not cfg.frozen))

            serve(cfg, host=args.host, port=args.port, rebuild=rebuild, errors=errors)
            return 0
        report = build(cfg)
        fresh = sum(s.fresh for s in report.statuses)
        print(f"built {shown(cfg.out_dir, cfg.root)} ({fresh}/{len(report.statuses)} results "
              f"fresh, {len(report.trained)} trained)", file=sys.stderr)
        return 0
    except errors as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OSError as err:  # a full disk, a read-only directory: the environment, not a bug
        print(f"error: {describe_os_error(err, cfg)}", file=sys.stderr)
        return 1
    except MemoryError:
        print("error: out of memory: free memory, or raise the limit (ulimit -v, a container's "
              "memory), and build again. The previous site and every frozen result are "
              "intact.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: the previous site and every frozen result are intact",
              file=sys.stderr)
        return 130
