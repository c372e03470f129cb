"""Author-year citations in the text, "(Williams, 1992)" or "(LeCun et al., 1998)", linked to
their entry in the page's reference list: the ordered list after a heading with the id
"references". Each entry gets the id "ref-<surname><year>"; a citation whose entry is missing
is left as plain text."""
from __future__ import annotations

import re
import unicodedata

REFERENCE_LIST = re.compile(r'(<h2[^>]*\bid="references"[^>]*>.*?</h2>\s*<ol>)(.*?)(</ol>)', re.S)
ENTRY = re.compile(r"<li>(.*?)</li>", re.S)
YEAR = re.compile(r"\((?:[^()]*?\s)?((?:19|20)\d\d)\)|\b((?:19|20)\d\d)\b")
CITATION = re.compile(r"\b([A-Z][\w'’-]+)( et al\.)?, ((?:19|20)\d\d)\b")
TAG = re.compile(r"<[^>]+>")


def _key(surname: str, year: str) -> str:
    plain = unicodedata.normalize("NFKD", surname).encode("ascii", "ignore").decode()
    return f"ref-{re.sub(r'[^a-z]', '', plain.lower())}{year}"


def _entry_key(entry_html: str) -> str | None:
    """'Ronald J. Williams. Simple ... (1992).' -> 'ref-williams1992': the first author's
    last name (the word before the first ',' or '.'), and the entry's year."""
    text = TAG.sub("", entry_html).strip()
    # ends at a comma, or at a full stop after a word (not after an initial like "J.")
    first_author = re.split(r",|(?<=\w\w)\.(?:\s|$)", text, maxsplit=1)[0]
    years = [a or b for a, b in YEAR.findall(text)]
    if not first_author.split() or not years:
        return None
    return _key(first_author.split()[-1], years[0])

PARENTHESES = re.compile(r"\(([^()<>]*)\)")
TAG_OR_LINK = re.compile(r"(<a\b.*?</a>|<[^>]+>)", re.S)


def link_citations(html: str) -> str:
    found = REFERENCE_LIST.search(html)
    if not found:
        return html
    keys: set[str] = set()

    def entry(match: re.Match) -> str:
        key = _entry_key(match.group(1))
        if key is None or key in keys:
            return match.group(0)
        keys.add(key)
        return f'<li id="{key}">{match.group(1)}</li>'
    references = ENTRY.sub(entry, found.group(2))
    before, after = html[:found.start()], html[found.end():]

    def cite(match: re.Match) -> str:
        key = _key(match.group(1), match.group(3))
        if key not in keys:
            return match.group(0)
        return f'<a class="citation" href="#{key}">{match.group(0)}</a>'

    # Only parenthesised citations in text nodes: never inside a tag or an existing link.
    def in_text(segment: str) -> str:
        return PARENTHESES.sub(lambda p: "(" + CITATION.sub(cite, p.group(1)) + ")", segment)
    parts = TAG_OR_LINK.split(before)
    before = "".join(p if p.startswith("<") or "(" not in p else in_text(p) for p in parts)
    return before + found.group(1) + references + found.group(3) + after
