"""The link check's fast scan finds exactly what the HTML parser finds."""
from onpolicy.render.links import PageLinks, _scan

TRICKY = """<!doctype html><html><head>
<link rel="stylesheet" href="../static/css/site.css?v=1">
<script src="../static/js/site.js" defer></script>
<script>var s = '<a href="nope.html" id="fake">';</script>
<style>a[href="x"] { color: red }</style>
<SCRIPT type="text/x-demo">var u = '<a href="upper-script.html" id="fake2">';</ScRiPt >
<Style>a[href="y"] { color: blue }</STYLE>
</head><body>
<!-- <a href="commented.html" id="gone"> -->
<h2 id="a-b">Title</h2><a name=old-anchor></a>
<a href='single.html#frag' class=x>one</a>
<a href="q.html?a=1&amp;b=2">two</a>
<img src="../data/x.svg" alt="a > b"><IMG SRC="UPPER.png">
<source src=bare.mp4>
<span data-href="not-a-link" id='s1'>text</span>
<a href="">empty</a><a href>bare</a><a id="no-href">no link</a>
<A HREF="upper.html">caps</A><abbr title="a tag starting with a">x</abbr>
<areax href="not-a-link-tag.html">x</areax><custom-el data-x="1" ID = "cust">y</custom-el>
<div
  id="multi-line">z</div><span class="id = in a value">w</span><p id>valueless</p>
</body></html>"""


def reference(text: str) -> PageLinks:
    parser = PageLinks()
    parser.feed(text)
    parser.close()
    return parser


def test_scan_matches_the_html_parser():
    ref, fast = reference(TRICKY), _scan(TRICKY)
    assert fast.ids == ref.ids
    assert fast.links == ref.links
    assert "fake" not in fast.ids and "nope.html" not in fast.links
    assert "fake2" not in fast.ids and "upper-script.html" not in fast.links
    assert "q.html?a=1&b=2" in fast.links and "single.html#frag" in fast.links
    assert {"cust", "multi-line"} <= fast.ids and "upper.html" in fast.links
    assert "not-a-link-tag.html" not in fast.links


def test_scan_matches_the_html_parser_on_the_built_site(built_site):
    pages = sorted(built_site.rglob("*.html"))
    assert pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        ref, fast = reference(text), _scan(text)
        assert (fast.ids, fast.links) == (ref.ids, ref.links), page


def test_pieces_scanned_apart_give_the_whole_scan(built_site):
    from onpolicy.render.links import _joined, pieces
    tricky = TRICKY.replace("<body>", "<body><h2 id='first'>x</h2><a href='p1.html'>p</a>"
                            "<script>var t = '<h2 id=\"in-script\">';</script>"
                            "<!-- <h2 id='in-comment'> --><H2 id=caps>y</H2>")
    cut = pieces(tricky)
    assert "".join(cut) == tricky
    # before first, caps and a-b; not inside the script or the comment
    assert [p[:13] for p in cut[1:]] == ["<h2 id='first", "<H2 id=caps>y", '<h2 id="a-b">']
    texts = [tricky] + [p.read_text(encoding="utf-8") for p in built_site.rglob("*.html")]
    assert any(len(pieces(text)) > 10 for text in texts)  # the article
    for text in texts:
        joined, ref = _joined([_scan(p) for p in pieces(text)]), reference(text)
        assert (joined.ids, joined.links) == (ref.ids, ref.links)
