"""The author's loop (issue #24): `serve`'s edit-to-reload latency, one-shot rebuilds, Hugo.

Temporary copies of the repository, measured side by side, interleaved round by round:
"after" is the working tree (as bench/rebuild.py copies it) and "before" the same files at a
baseline commit (`--baseline`, default the commit before issue #24's work), both with this
checkout's results/ and node_modules, and this checkout's Python; one copy of each for serve
and one for the one-shot builds (a serve would rebuild on the other's edits). Per round:

* serve: `python build.py serve` runs in each copy the whole time. A real edit of the
  article's Markdown (a sentence appended, the file written and closed as an editor saves it)
  is timed from the moment the file is closed to the moment an event-stream client,
  connected to `/__livereload` as the browser's script is, receives the `reload` event;
* one-shot: `python build.py --no-train` after a prose edit, and again with nothing changed
  (the no-op), each a fresh process, timed from start to exit;
* Hugo (when `hugo` is installed): a full build of the same Markdown (the article, home,
  reproduce and 404 pages, their text as it is: no math, no charts, minimal layouts), the
  reference for "at Hugo's pace", as `hugo --quiet` from start to exit.

The summary gives each median beside its target and the baseline's, with the ratios.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import ROOT, load_average, machine_header, median, spread, table, verdict
from bench.rebuild import build_env, make_copy, python_exe, timed

BASELINE = "6492e80"      # main before issue #24's performance work
TARGET_SERVE_S = 0.150    # edit saved -> reload event, median
TARGET_PROSE_S = 0.30     # one-shot `build.py --no-train` after a prose edit
TARGET_NOOP_S = 0.12      # and with nothing changed
PAGES = {"article/index.md": "article.md", "index.md": "_index.md",
         "reproduce.md": "reproduce.md", "404.md": "404.md"}
HUGO_CONFIG = 'baseURL = "http://localhost/"\ntitle = "bench"\n' \
              'disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT"]\n'
HUGO_LAYOUT = ("<!doctype html><html><head><title>{{ .Title }}</title></head>"
               "<body>{{ .Content }}</body></html>\n")


def copy_at(commit: str, dest: Path) -> Path:
    """The repository's files at `commit` in dest/repo, with this checkout's results/ and a
    link to its node_modules (what make_copy does for the working tree)."""
    repo = dest / "repo"
    repo.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(repo)], input=archive, check=True)
    shutil.rmtree(repo / "results", ignore_errors=True)
    shutil.copytree(ROOT / "results", repo / "results")
    if (ROOT / "node_modules").exists():
        (repo / "node_modules").symlink_to(ROOT / "node_modules")
    return repo


def prose_edit(repo: Path, n: int, where: str) -> None:
    with open(repo / "site_src" / "article" / "index.md", "a", encoding="utf-8") as f:
        f.write(f"\nA benchmark sentence, {where} edit number {n}, changes only the prose.\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Preview:
    """`build.py serve` in a copy, and an event-stream client on its /__livereload."""

    def __init__(self, repo: Path, log: Path):
        self.repo, self.port = repo, free_port()
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(
            [python_exe(), "build.py", "serve", "--no-train", "--port", str(self.port)],
            cwd=repo, env=build_env(), stdout=self.log, stderr=subprocess.STDOUT)
        self.events: list[tuple[float, str]] = []
        self.arrived = threading.Condition()
        deadline = time.monotonic() + 300
        while not (repo / "public" / "index.html").is_file() or not self._connect():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"serve did not start in {repo} (see {log})")
            time.sleep(0.2)
        threading.Thread(target=self._listen, daemon=True).start()

    def _connect(self) -> bool:
        try:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=2)
        except OSError:
            return False
        self.sock.sendall(f"GET /__livereload HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                          "Accept: text/event-stream\r\n\r\n".encode())
        self.sock.settimeout(None)
        return True

    def _listen(self) -> None:
        buffer = b""
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            now = time.perf_counter()
            buffer += data
            while b"\n\n" in buffer:
                message, buffer = buffer.split(b"\n\n", 1)
                for line in message.decode("utf-8", "replace").splitlines():
                    if line.startswith("event: "):
                        with self.arrived:
                            self.events.append((now, line[7:]))
                            self.arrived.notify_all()

    def cpu_s(self) -> float:
        """User + system seconds the serve process has used so far (its own threads)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def edit_to_reload(self, n: int) -> tuple[float, float]:
        """Seconds from a saved edit to the reload event, and the CPU seconds serve spent."""
        seen = len(self.events)
        cpu = self.cpu_s()
        prose_edit(self.repo, n, "serve")
        saved = time.perf_counter()
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.events) > seen, timeout=60):
                raise RuntimeError(f"no reload event within 60 s in {self.repo}")
            at, kind = self.events[seen]
        if kind != "reload":
            raise RuntimeError(f"serve in {self.repo} sent {kind!r}: the build failed")
        used = self.cpu_s() - cpu
        time.sleep(0.4)  # let the watcher settle before the next edit
        return at - saved, used

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.sock.close()
        self.log.close()


def hugo_site(repo: Path, dest: Path) -> Path:
    """A Hugo site holding the same Markdown as the copy's pages."""
    site = dest / "hugo"
    (site / "layouts" / "_default").mkdir(parents=True)
    (site / "content").mkdir()
    (site / "hugo.toml").write_text(HUGO_CONFIG)
    for name in ("single.html", "list.html"):
        (site / "layouts" / "_default" / name).write_text(HUGO_LAYOUT)
    for source, target in PAGES.items():
        shutil.copy2(repo / "site_src" / source, site / "content" / target)
    return site


def main(repeats: int | None = None, quick: bool = False, baseline: str = BASELINE,
         keep: bool = False) -> dict:
    repeats = repeats or (3 if quick else 7)
    print(machine_header("author's loop: serve, one-shot rebuilds, Hugo (issue #24)"))
    tmp = Path(tempfile.mkdtemp(prefix="onpolicy-bench-loop-"))
    log = tmp / "builds.log"
    previews: dict[str, Preview] = {}
    py = python_exe()
    try:
        copies = {"after": make_copy(tmp / "after"), "before": copy_at(baseline, tmp / "before")}
        served = {"after": make_copy(tmp / "serve-after"),
                  "before": copy_at(baseline, tmp / "serve-before")}
        hugo = shutil.which("hugo")
        hugo_dir = hugo_site(copies["after"], tmp) if hugo else None
        print(f"after:    {copies['after']} (the working tree)\nbefore:   {copies['before']} "
              f"(commit {baseline})\nhugo:     " + (subprocess.run(
                  [hugo, "version"], capture_output=True, text=True).stdout.strip()
                  if hugo else "not installed (apt-get install hugo): no Hugo column"))
        for side, repo in copies.items():
            first = timed([py, "build.py", "--no-train"], repo, log)
            if first["rc"] != 0:
                raise RuntimeError(f"{side}: the first build failed; see {log}")
        for side, repo in served.items():
            previews[side] = Preview(repo, tmp / f"serve-{side}.log")
        time.sleep(1)
        runs: dict[str, list[float]] = {}

        def record(name: str, seconds: float, cpu: float | None = None) -> None:
            runs.setdefault(name, []).append(seconds)
            if cpu is not None:
                runs.setdefault(f"{name} cpu", []).append(cpu)
        for r in range(repeats):
            order = list(copies) if r % 2 == 0 else list(reversed(copies))
            for side in order:
                record(f"serve {side}", *previews[side].edit_to_reload(r))
            for side in order:
                prose_edit(copies[side], r, "one-shot")
                for name in ("prose", "no-op"):
                    run = timed([py, "build.py", "--no-train"], copies[side], log)
                    if run["rc"] != 0:
                        raise RuntimeError(f"{side} {name}: build failed; see {log}")
                    record(f"{name} {side}", run["wall_s"], run["cpu_s"])
            if hugo_dir is not None:
                shutil.copy2(copies["after"] / "site_src" / "article" / "index.md",
                             hugo_dir / "content" / "article.md")
                run = timed([hugo, "--quiet", "-s", str(hugo_dir), "-d", str(tmp / "hugo-out")],
                            tmp, log)
                if run["rc"] != 0:
                    raise RuntimeError(f"hugo failed; see {log}")
                record("hugo", run["wall_s"], run["cpu_s"])
            print(f"  round {r + 1}/{repeats}: " + ", ".join(
                f"{name} {values[-1] * 1000:.0f} ms" for name, values in runs.items()
                if not name.endswith(" cpu")), flush=True)
        return report(runs, repeats, baseline)
    finally:
        for preview in previews.values():
            preview.stop()
        if keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


SCENARIOS = (("serve", TARGET_SERVE_S), ("prose", TARGET_PROSE_S), ("no-op", TARGET_NOOP_S))


def report(runs: dict[str, list[float]], repeats: int, baseline: str) -> dict:
    med = {name: median(values) for name, values in runs.items()}
    hugo, hugo_cpu = med.get("hugo"), med.get("hugo cpu")
    rows = []
    for name, target in SCENARIOS:
        after, before = med[f"{name} after"], med[f"{name} before"]
        cpu_after, cpu_before = med[f"{name} after cpu"], med[f"{name} before cpu"]
        rows.append([name, f"{after * 1000:.0f} ms", spread([v * 1000 for v in runs[
            f"{name} after"]]), f"<= {target * 1000:.0f} ms: {verdict(after <= target)}",
            f"{before * 1000:.0f} ms", f"{before / after:.2f}x",
            f"{cpu_after * 1000:.0f} / {cpu_before * 1000:.0f} ms",
            f"{after / hugo:.1f}x" if hugo else "n/a"])
    print()
    print(table(rows, ["scenario", "after (median)", "range (ms)", "target",
                       f"before ({baseline})", "before/after", "CPU after / before",
                       "after/Hugo"]))
    print("(serve: from the saved edit to the reload event; CPU: what the serve process used "
          "meanwhile. One-shot: wall and user+system CPU of the build process, which on a "
          "busy machine moves less than the wall time)")
    if hugo:
        print(f"hugo full build of the same Markdown: {hugo * 1000:.0f} ms wall, "
              f"{hugo_cpu * 1000:.0f} ms CPU (range {spread([v * 1000 for v in runs['hugo']])}"
              " ms)")
    summary = [f"author's loop ({repeats} interleaved rounds, baseline {baseline}): " + "; ".join(
        f"{name} {med[f'{name} after'] * 1000:.0f} ms (target <= {target * 1000:.0f} ms: "
        f"{verdict(med[f'{name} after'] <= target)}; before {med[f'{name} before'] * 1000:.0f}"
        f" ms; CPU {med[f'{name} after cpu'] * 1000:.0f} vs "
        f"{med[f'{name} before cpu'] * 1000:.0f} ms"
        + (f"; {med[f'{name} after'] / hugo:.1f}x Hugo's full build" if hugo else "") + ")"
        for name, target in SCENARIOS)
        + (f"; Hugo {hugo * 1000:.0f} ms" if hugo else "; Hugo not installed")
        + f"; load average {load_average()} at the end"]
    return {"runs": runs, "medians": med, "baseline": baseline, "summary": summary}


def cli(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.author_loop", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, metavar="N",
                        help="interleaved rounds (default 7; 3 with --quick)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3 rounds")
    parser.add_argument("--baseline", default=BASELINE, metavar="REV",
                        help=f"the commit measured side by side (default {BASELINE})")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary copies and their logs for inspection")
    args = parser.parse_args(argv)
    result = main(args.repeats, args.quick, args.baseline, args.keep)
    print("\n".join(result["summary"]))
    return 0


if __name__ == "__main__":
    sys.exit(cli())
