"""The GitHub Pages workflow, run as GitHub runs it.

test_workflow_build_job_publishes_the_site reads .github/workflows/pages.yml itself: it checks
out this commit the way the workflow's checkout step does (its fetch-depth), then runs the
build job's `run:` steps in order, with bash -e as GitHub does and the `${{ ... }}` expressions
replaced by the test values below, in that fresh clone (so the venv is made there, from
nothing, by the workflow's own install command; pip's cache makes it quick). No command of the
workflow is repeated here: change the workflow and the test runs the new one. The site it
builds must then work under the base path, and equal, byte for byte, the one the full install
(this venv, with PyTorch) builds with the same commands from the same commit.

The shallow-clone tests show why the checkout fetches the history: the article's "updated"
date comes from git log, and a one-commit clone would credit that commit with every file.
"""
from __future__ import annotations

import datetime as dt
import filecmp
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
import yaml

from onpolicy.render.site_inputs import git_updated

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "pages.yml"
ARTICLE = "site_src/article/index.md"
BASE_URL = "https://example-user.github.io/onpolicy"   # what configure-pages gives a project site
EXPRESSIONS = {
    "steps.pages.outputs.base_url": BASE_URL,
    "github.server_url": "https://github.com",
    "github.repository": "example-user/onpolicy",
}
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
LINK_ATTRIBUTES = {"a": "href", "link": "href", "script": "src", "img": "src", "source": "src",
                   "iframe": "src", "form": "action"}


def substitute(text: str) -> str:
    def value(match: re.Match) -> str:
        if match.group(1) not in EXPRESSIONS:
            pytest.fail(f"{WORKFLOW.name} uses ${{{{ {match.group(1)} }}}}: give it a test value "
                        "in tests/test_pages.py EXPRESSIONS")
        return EXPRESSIONS[match.group(1)]
    return EXPRESSION.sub(value, text)


def build_job() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["build"]


def step_using(job: dict, action: str) -> dict:
    return next(s for s in job["steps"] if str(s.get("uses", "")).split("@")[0] == action)


def checkout(dest: Path, depth: int) -> None:
    """What actions/checkout does: fetch one commit (depth 1, its default), N commits, or the
    whole history (0), then check it out detached."""
    head = git(ROOT, "rev-parse", "HEAD")
    git(dest.parent, "init", "-q", dest.name)
    fetch = ["fetch", "-q", "--no-tags"] + ([f"--depth={depth}"] if depth > 0 else [])
    git(dest, *fetch, f"file://{ROOT}", f"+{head}:refs/remotes/origin/main")
    git(dest, "checkout", "-q", "--detach", head)


def git(cwd: Path, *args: str, env: dict | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout.strip()


def clean_env() -> dict:
    """The runner's environment: no venv active, this venv's bin/ not on PATH (the workflow's
    `python3.11` is the machine's, which makes a venv from nothing), pip's cache kept."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PIP_NO_CACHE_DIR",
                        "PIP_REQUIRE_VIRTUALENV", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    venv_bins = {str(Path(sys.prefix) / "bin"), str(ROOT / ".venv" / "bin")}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p not in venv_bins)
    env.update(CI="true", GITHUB_ACTIONS="true", TQDM_DISABLE="1")
    return env


def run_steps(steps: list[dict], cwd: Path, env: dict, log: list[str]) -> None:
    for step in steps:
        script = substitute(step["run"])
        step_env = {**env, **{k: substitute(str(v)) for k, v in step.get("env", {}).items()}}
        proc = subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=step_env,
                              capture_output=True, text=True, timeout=900)
        log.append(f"$ {script}\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
        assert proc.returncode == 0, f"step {step.get('name', script)!r} failed:\n" + log[-1]


class Links(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.base: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == "base" and attrs.get("href"):
            self.base = attrs["href"]
        elif attrs.get(LINK_ATTRIBUTES.get(tag, "")):
            self.links.append(attrs[LINK_ATTRIBUTES[tag]])


def parse(path: Path) -> Links:
    parser = Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def page_url(public: Path, path: Path) -> str:
    rel = path.relative_to(public).as_posix()
    return f"{BASE_URL}/{rel[:-len('index.html')] if rel.endswith('index.html') else rel}"


def local_file(public: Path, url: str) -> Path | None:
    """The file a URL on the site's host names, or None if it is off the site's host;
    fails if it is on the host but outside the base path (it would 404 on Pages)."""
    parts, base = urlsplit(url), urlsplit(BASE_URL)
    if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
        return None
    assert parts.path.startswith(base.path + "/"), f"{url} is outside the base path {base.path}/"
    target = public / unquote(parts.path[len(base.path) + 1:])
    return target / "index.html" if parts.path.endswith("/") else target


def check_site(public: Path) -> None:
    pages = sorted(public.rglob("*.html"))
    parsed = {p: parse(p) for p in pages}
    problems = []
    for page, links in parsed.items():
        base = urljoin(page_url(public, page), links.base) if links.base else page_url(public, page)
        for link in links.links:
            url = urljoin(base, link)
            if urlsplit(url).scheme not in ("http", "https"):
                continue               # mailto:, data:, javascript:
            try:
                target = local_file(public, url)
            except AssertionError as err:
                problems.append(f"{page.relative_to(public)}: {link}: {err}")
                continue
            if target is None:
                continue
            if not target.is_file():
                problems.append(f"{page.relative_to(public)}: {link} -> {url}: no such file")
            elif urlsplit(url).fragment and target.suffix == ".html":
                anchor = unquote(urlsplit(url).fragment)
                if anchor not in parse(target).ids:
                    problems.append(f"{page.relative_to(public)}: {link}: no #{anchor}")
    assert not problems, "\n".join(problems[:40])

    # Every page is in the sitemap and every sitemap URL is a page under the base path; the
    # feed's links and robots.txt's sitemap point into the site too.
    sitemap = (public / "sitemap.xml").read_text(encoding="utf-8")
    locs = re.findall(r"<loc>([^<]+)</loc>", sitemap)
    assert locs and all(local_file(public, url).is_file() for url in locs), locs
    feed = (public / "feed.xml").read_text(encoding="utf-8")
    for url in re.findall(r'href="([^"]+)"', feed):
        target = local_file(public, url)
        assert target is None or target.is_file(), url
    assert f"Sitemap: {BASE_URL}/sitemap.xml" in (public / "robots.txt").read_text()
    listed = {local_file(public, url) for url in locs}
    for page in pages:
        if page.name != "404.html" and page.parent.name != "data":
            assert page in listed, f"{page.relative_to(public)} is not in sitemap.xml"
    assert (public / ".nojekyll").is_file()  # uploaded: include-hidden-files


def tree_differences(a: Path, b: Path) -> list[str]:
    files = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    other = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    diff = [f"only in one build: {p}" for p in sorted(files ^ other)]
    return diff + [f"differs: {p}" for p in sorted(files & other)
                   if not filecmp.cmp(a / p, b / p, shallow=False)]


def check_make_site(repo: Path, env: dict) -> None:
    """`make site` in the same checkout (its render-only venv): with every result fresh it
    installs nothing more and builds; with one missing it would install PyTorch first, saying
    why and how big (seen with `make -n`, which still runs the recipe's decision, a line that
    calls $(MAKE), but only prints what the sub-make would run)."""
    made = subprocess.run(["make", "site"], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=600)
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    assert "PyTorch" not in made.stdout + made.stderr and "[train" not in made.stdout
    assert not (repo / ".venv" / ".installed-train").exists()
    assert (repo / "public" / "index.html").is_file()

    gone = next(iter(sorted((repo / "results").glob("*.json"))))
    gone.unlink()
    dry = subprocess.run(["make", "-n", "site"], cwd=repo, env=env, capture_output=True,
                         text=True, timeout=300)
    git(repo, "checkout", "--", str(gone.relative_to(repo)))
    assert dry.returncode == 0, dry.stdout[-3000:] + dry.stderr[-3000:]
    assert re.search(rf"^{re.escape(gone.stem)} +missing ", dry.stdout, re.M), dry.stdout
    assert "these results must be trained: installing PyTorch (about 5.8 GiB" in dry.stdout
    assert "pip install -e '.[train]'" in dry.stdout
    torch = subprocess.run([str(repo / ".venv" / "bin" / "python"), "-c", "import torch"],
                           capture_output=True, text=True)
    assert torch.returncode != 0, "make -n installed PyTorch"


@pytest.mark.slow
def test_workflow_build_job_publishes_the_site(tmp_path):
    job = build_job()
    repo = tmp_path / "checkout"
    depth = int(step_using(job, "actions/checkout").get("with", {}).get("fetch-depth", 1))
    checkout(repo, depth)
    env = clean_env()

    wanted_python = str(step_using(job, "actions/setup-python")["with"]["python-version"])
    wanted_node = str(step_using(job, "actions/setup-node")["with"]["node-version"])
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, env=env)
    assert node.stdout.lstrip("v").split(".")[0] == wanted_node.split(".")[0], \
        f"the workflow sets up Node {wanted_node}; this machine has {node.stdout.strip()}"

    steps = [s for s in job["steps"] if "run" in s]
    log: list[str] = []
    run_steps(steps, repo, env, log)
    made = subprocess.run([str(repo / ".venv" / "bin" / "python"), "-c",
                           "import sys; print('%d.%d' % sys.version_info[:2])"],
                          capture_output=True, text=True)
    assert made.stdout.strip() == wanted_python, "the venv is not the workflow's Python"
    torch = subprocess.run([str(repo / ".venv" / "bin" / "python"), "-c", "import torch"],
                           capture_output=True, text=True)
    assert torch.returncode != 0, "the render-only install pulled in torch"
    public = repo / "public"
    assert (public / "index.html").is_file(), "\n".join(log)
    check_site(public)

    # The footer links to the repository; the article's "updated" date is the date of the
    # last commit that touched it (the whole history was fetched), not of the pushed commit.
    article = next(p for p in public.rglob("index.html")
                   if 'class="updated"' in p.read_text(encoding="utf-8"))
    html = article.read_text(encoding="utf-8")
    assert 'href="https://github.com/example-user/onpolicy"' in html
    last_change = git(ROOT, "log", "-1", "--format=%cs", "--", ARTICLE)
    assert f'<time class="updated" datetime="{last_change}">' in html

    public.rename(tmp_path / "render-public")
    check_make_site(repo, env)

    # The same commands with the full install (this venv: PyTorch, test tools) from scratch.
    (repo / ".venv").rename(tmp_path / "render-venv")
    subprocess.run(["rm", "-rf", str(repo / ".cache"), str(public)], check=True)
    (repo / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    builds = [s for s in steps if "build.py" in s["run"]]
    run_steps(builds, repo, env, log)
    assert tree_differences(tmp_path / "render-public", public) == []


def commit(repo: Path, files: dict[str, str], date: str) -> None:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    stamp = f"{date}T12:00:00+00:00"
    env = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp,
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    git(repo, "add", "-A", env=env)
    git(repo, "commit", "-q", "-m", f"on {date}", env=env)


@pytest.fixture()
def history(tmp_path) -> Path:
    """An article committed on 2 January 2020, then another file on 4 March 2021."""
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q")
    commit(origin, {"site_src/post/index.md": "text\n"}, "2020-01-02")
    commit(origin, {"README.md": "readme\n"}, "2021-03-04")
    return origin


def test_full_history_dates_the_article_by_its_own_last_commit(history, tmp_path):
    clone = tmp_path / "full"
    git(tmp_path, "clone", "-q", f"file://{history}", clone.name)
    warned = []
    assert git_updated(clone / "site_src/post/index.md", clone, warned.append) == \
        dt.date(2020, 1, 2)
    assert warned == []


def test_a_shallow_clone_would_redate_the_article_so_the_build_leaves_it_out(history, tmp_path):
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth=1", f"file://{history}", clone.name)
    # What plain git log says in a one-commit checkout (actions/checkout's default): the
    # pushed commit's date, though that commit never touched the article.
    assert git(clone, "log", "-1", "--format=%cs", "--", "site_src/post/index.md") == \
        "2021-03-04"
    warned = []
    assert git_updated(clone / "site_src/post/index.md", clone, warned.append) is None
    assert len(warned) == 1 and "shallow clone" in warned[0] and "fetch-depth: 0" in warned[0]
    assert warned[0].startswith("site_src/post/index.md: ")


def test_a_deep_enough_shallow_clone_knows_the_date(history, tmp_path):
    commit(history, {"site_src/post/index.md": "edited\n"}, "2022-05-06")
    commit(history, {"README.md": "again\n"}, "2023-07-08")
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth=3", f"file://{history}", clone.name)
    assert git_updated(clone / "site_src/post/index.md", clone) == dt.date(2022, 5, 6)


def test_the_site_check_catches_a_link_outside_the_base_path(tmp_path):
    """check_site really checks: a root-absolute link works at a domain's root but not on a
    project site under /onpolicy/; a missing asset and a missing anchor fail too."""
    public = tmp_path / "public"
    (public / "static").mkdir(parents=True)
    (public / "static" / "site.css").write_text("")
    (public / ".nojekyll").write_text("")
    (public / "robots.txt").write_text(f"Sitemap: {BASE_URL}/sitemap.xml\n")
    (public / "sitemap.xml").write_text(f"<urlset><url><loc>{BASE_URL}/</loc></url></urlset>")
    (public / "feed.xml").write_text(f'<feed><link href="{BASE_URL}/"/></feed>')
    good = '<link rel="stylesheet" href="static/site.css"><a id="top" href="#top">top</a>'
    (public / "index.html").write_text(good)
    check_site(public)
    for bad, why in (('<link href="/static/site.css">', "outside the base path"),
                     ('<script src="static/gone.js"></script>', "no such file"),
                     ('<a href="#nowhere">x</a>', "no #nowhere")):
        (public / "index.html").write_text(good + bad)
        with pytest.raises(AssertionError, match=why):
            check_site(public)


def test_one_node_version_everywhere_and_the_lock_accepts_it():
    """pages.yml, .ci/run and the README name one Node major, and every locked package's
    `engines.node` accepts the Node this machine runs (else `npm ci` prints EBADENGINE); the
    workflow test checks that it is the workflow's major."""
    import json
    import shutil

    wanted = str(step_using(build_job(), "actions/setup-node")["with"]["node-version"])
    for path in (ROOT / "README.md", ROOT / ".ci" / "run"):
        named = set(re.findall(r"Node(?:\.js)? (\d+)", path.read_text(encoding="utf-8")))
        assert named == {wanted}, f"{path.name} names Node {named}, pages.yml {wanted}"
    node = shutil.which("node")
    assert node, "node is not installed"
    running = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    npm_root = subprocess.run(["npm", "root", "-g"], capture_output=True, text=True).stdout.strip()
    semver = Path(npm_root) / "npm" / "node_modules" / "semver"
    assert semver.is_dir(), f"npm's own semver module is not at {semver}"
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    ranges = {name: meta["engines"]["node"] for name, meta in lock["packages"].items()
              if isinstance(meta.get("engines"), dict) and "node" in meta["engines"]}
    assert ranges, "no locked package declares engines.node: the check would check nothing"
    script = ("const s = require(process.argv[1]); const r = JSON.parse(process.argv[3]);"
              "console.log(JSON.stringify(Object.keys(r).filter("
              "k => !s.satisfies(process.argv[2], r[k]))))")
    proc = subprocess.run([node, "-e", script, str(semver), running, json.dumps(ranges)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    refused = json.loads(proc.stdout)
    assert refused == [], {name: ranges[name] for name in refused}
