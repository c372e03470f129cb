"""Server-side KaTeX: one long-lived node worker per build, a disk cache per formula."""
from __future__ import annotations

import functools
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

WORKER = Path(__file__).with_name("katex_render.js")
MEMORY_KEPT = 20000  # formulas kept in memory by a long-lived process (serve): a few MB
# arithmatex (generic mode) output: <span class="arithmatex">\(tex\)</span>,
# <div class="arithmatex">\[tex\]</div>, with & < > " HTML-escaped inside
ARITHMATEX = re.compile(r'<(span|div) class="arithmatex">(.*?)</\1>', re.S)


class KatexUnavailable(Exception):
    """node or node_modules/katex is missing (an environment problem, not a TeX one)."""


@dataclass(frozen=True)
class Formula:
    tex: str
    display: bool
    macros: tuple = ()  # ((name, expansion), ...): hashable, part of the cache key


@dataclass
class Typeset:
    html: str | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


# Formulas typeset (or read from the disk cache) by this process, by cache key, once
# remember_formulas() was called: a process that builds again and again (serve) then reads no
# file for them. Only successes are kept, as on disk.
_MEMORY: dict[str, Typeset] = {}
_REMEMBER = False
_KEPT: dict[str, "KatexRenderer"] = {}  # katex dir -> a renderer holding a live worker


def remember_formulas(on: bool = True) -> None:
    """on: keep typeset formulas in memory, and the node worker alive, between builds of this
    process; off: forget them and end the kept worker."""
    global _REMEMBER
    _REMEMBER = False
    _MEMORY.clear()
    kept = list(_KEPT.values())
    _KEPT.clear()
    for renderer in kept:
        renderer.close()
    _REMEMBER = on


class KatexRenderer:
    """Typesets formulas; cached ones never reach node. Use as a context manager."""

    def __init__(self, node_modules: Path, cache_dir: Path):
        self.katex_dir = node_modules / "katex"
        package = self.katex_dir / "package.json"
        if not package.is_file():
            raise KatexUnavailable(f"{self.katex_dir} not found: run `npm ci` (KaTeX typesets "
                                   "the math at build time)")
        self.version = json.loads(package.read_text())["version"]
        self.cache_dir = cache_dir / "katex"
        self.remove_leftovers()
        self.sent_to_node = 0   # formulas node typeset in this build (the rest came from cache)
        self.cache_hits = 0
        self._process: subprocess.Popen | None = None
        self._stderr = None
        kept = _KEPT.pop(str(self.katex_dir), None) if _REMEMBER else None
        if kept is not None and kept._process.poll() is None:  # left by an earlier build
            self._process, self._stderr, kept._process = kept._process, kept._stderr, None
        elif kept is not None:
            kept.close(abort=True)

    def __enter__(self) -> "KatexRenderer":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.close(abort=exc_type is not None)

    def close(self, abort: bool = False) -> None:
        """Ends the worker: normally by closing its input; on an error or Ctrl-C (abort) at
        once, since it may be blocked writing answers nobody will read. Never raises, so an
        interrupt is reported as one and not as the dead pipe it leaves behind.
        With remember_formulas() on, a healthy worker is kept for the next build instead."""
        if (_REMEMBER and not abort and self._process is not None
                and self._process.poll() is None and str(self.katex_dir) not in _KEPT):
            _KEPT[str(self.katex_dir)] = self
            return
        if self._process is not None:
            if abort:
                self._process.kill()
            try:
                self._process.stdin.close()
            except OSError:         # BrokenPipeError: node is gone with lines still buffered
                pass
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process.stdout.close()
            self._process = None
            self._stderr.close()

    def _key(self, formula: Formula) -> str:
        blob = json.dumps([self.version, formula.display, formula.tex, list(formula.macros)])
        return hashlib.sha256(blob.encode()).hexdigest()

    def _cache_path(self, key: str) -> Path:
        return self.cache_dir / key[:2] / f"{key}.json"

    def _read_cache(self, key: str) -> Typeset | None:
        if key in _MEMORY:
            return _MEMORY[key]
        try:
            data = json.loads(self._cache_path(key).read_text(encoding="utf-8"))
            result = Typeset(html=data["html"], warnings=data.get("warnings", []))
        except (OSError, ValueError, KeyError):
            return None
        self._remember(key, result)
        return result

    @staticmethod
    def _remember(key: str, result: Typeset) -> None:
        if not _REMEMBER:
            return
        if len(_MEMORY) >= MEMORY_KEPT:
            _MEMORY.clear()
        _MEMORY[key] = result

    def _write_cache(self, key: str, result: Typeset) -> None:
        """Atomic: a full disk or a kill leaves no half entry; a failed write leaves no
        temporary file (and raises, naming the cache file)."""
        path = self._cache_path(key)
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"html": result.html, "warnings": result.warnings}, f)
            os.replace(tmp, path)
        except OSError as err:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
            raise OSError(err.errno, f"cannot write the KaTeX cache: {err.strerror}",
                          err.filename or str(path)) from err

    def remove_leftovers(self) -> None:
        """Temporary files a killed build left in the cache (builds hold the lock: none of
        them is in use)."""
        for leftover in self.cache_dir.glob("*/.tmp-*"):
            leftover.unlink(missing_ok=True)

    def _start(self) -> subprocess.Popen:
        if self._process is None:
            node = shutil.which("node")
            if node is None:
                raise KatexUnavailable("`node` is not on PATH: Node 20 is needed to typeset "
                                       "formulas that are not in the KaTeX cache yet")
            self._stderr = tempfile.TemporaryFile()
            # Its own process group: Ctrl-C in a terminal signals the build alone, which then
            # ends the worker itself (close), instead of both dying in an arbitrary order.
            group = {"process_group": 0} if os.name == "posix" else {}
            try:
                self._process = subprocess.Popen(
                    [node, str(WORKER), str(self.katex_dir)], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=self._stderr, text=True, encoding="utf-8",
                    bufsize=1, **group)
            except OSError as err:  # EMFILE, ENOMEM, EAGAIN: a limit of this machine
                self._stderr.close()
                raise KatexUnavailable(f"cannot start the KaTeX node worker ({node}): "
                                       f"{err.strerror or err}; raise the limit (ulimit -n, "
                                       "-u or -v) or free resources, then build again") from None
        return self._process

    def _node_failure(self) -> KatexUnavailable:
        """Why node stopped, in words: its exit, its first real error line (node frames its
        fatal errors in '#' lines), and the limit to raise when it hit one."""
        try:
            code = self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        self._stderr.seek(0)
        lines = [line.strip(" #\t") for line in
                 self._stderr.read().decode("utf-8", "replace").splitlines()]
        said = next((line for line in lines if line and not line.startswith(
            ("/usr/", "node:", "at ", "-----"))), "") or "no error message"
        how = (f"was killed by signal {-code}" if code is not None and code < 0
               else f"exited with status {code}" if code is not None else "stopped answering")
        text = " ".join(lines).lower()
        hint = ("" if not any(w in text for w in ("memory", "oom", "uv_loop_init", "emfile",
                                                   "too many open files", "resource"))
                and code != -9 else
                " It ran out of a resource: memory (ulimit -v, a container's limit) or open "
                "files (ulimit -n); raise the limit or free memory, then build again.")
        return KatexUnavailable(f"the KaTeX node worker {how}: {said[:300]}.{hint}")

    def _ask_node(self, batch: dict[str, Formula]) -> dict[str, Typeset]:
        process = self._start()
        lines = [json.dumps({"id": key, "tex": f.tex, "display": f.display,
                             "macros": dict(f.macros)}) + "\n" for key, f in batch.items()]

        def write() -> None:  # in a thread: node blocks on a full stdout pipe while we write
            try:
                process.stdin.writelines(lines)
                process.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                pass

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        answers: dict[str, Typeset] = {}
        while len(answers) < len(batch):
            line = process.stdout.readline()
            if not line:
                raise self._node_failure()
            reply = json.loads(line)
            answers[reply["id"]] = Typeset(reply.get("html"), reply.get("error"),
                                           reply.get("warnings", []))
        writer.join()
        self.sent_to_node += len(batch)
        return answers

    def render_many(self, formulas: list[Formula]) -> list[Typeset]:
        """One result per formula, in order; only cache misses go to node, in one batch."""
        keys = [self._key(f) for f in formulas]
        done: dict[str, Typeset] = {}
        missing: dict[str, Formula] = {}
        for key, formula in zip(keys, formulas):
            if key in done or key in missing:
                continue
            cached = self._read_cache(key)
            if cached is not None:
                done[key] = cached
                self.cache_hits += 1
            else:
                missing[key] = formula
        if missing:
            for key, result in self._ask_node(missing).items():
                if result.html is not None:
                    self._write_cache(key, result)
                    self._remember(key, result)
                done[key] = result
        return [done[key] for key in keys]


def find_math(fragment: str) -> list[tuple[re.Match, Formula]]:
    """arithmatex spans/divs in an HTML fragment, with their TeX unescaped."""
    found = []
    for match in ARITHMATEX.finditer(fragment):
        inner = html.unescape(match.group(2)).strip()
        display = match.group(1) == "div"
        if inner[:2] in ("\\(", "\\[") and inner[-2:] in ("\\)", "\\]"):
            inner = inner[2:-2]
        found.append((match, Formula(inner.strip(), display)))
    return found


PRIVATE_USE = re.compile("[\ue000-\uf8ff]")
# "height:-1em", not "line-height:-1em": the look-behind sits after a literal "h" (the regex
# engine then jumps from one "h" to the next: 20x faster than (?<![\w-])height:-...)
NEGATIVE_HEIGHT = re.compile(r"h(?<![\w-]h)eight:-[0-9.]+em;?")


@functools.lru_cache(maxsize=4096)  # one page repeats formulas; serve renders it again and again
def valid_html(katex_html: str) -> str:
    """Two KaTeX outputs that HTML validators reject, made valid without changing the look:
    a negative CSS height (browsers drop it anyway), and Private Use Area characters (KaTeX's
    fonts draw e.g. the slash of \\neq at U+E020): they become spans whose ::before content
    (assets.katex_private_use_css) draws the same glyph."""
    katex_html = NEGATIVE_HEIGHT.sub("", katex_html)
    return PRIVATE_USE.sub(lambda m: f'<span class="pua-{ord(m.group()):04x}"></span>',
                           katex_html)


def replace_math(fragment: str, found: list[tuple[re.Match, Formula]],
                 typeset: list[Typeset]) -> str:
    out, last = [], 0
    for (match, formula), result in zip(found, typeset):
        out.append(fragment[last:match.start()])
        html_out = valid_html(result.html)
        out.append(f'<div class="math-display">{html_out}</div>' if formula.display
                   else html_out)
        last = match.end()
    out.append(fragment[last:])
    return "".join(out)
