"""What of a student's notebook may reach a feedback page: HTML with nothing active in it.

A page shows the student's markdown (rendered) and the outputs of their code, HTML included
(``IPython.display.HTML``). A browser would run any script, event handler (``onerror=``) or
``javascript:`` link in them, and show frames, embedded objects and forms: one script could
rewrite the displayed score. :func:`clean` keeps an allow-list of tags, attributes, URL
schemes and CSS properties, with bleach (the sanitiser nbconvert's own ``sanitize_html`` uses;
html5lib parses as browsers do). Images stay, also ``data:image/...`` ones (plots, pasted
screenshots), and so does math: it is text, typeset by the page's MathJax (its ``Safe`` mode).

:func:`page` cleans everything after the page's ``<body>`` tag: the head is the template's
(styles, and the grader's MathJax script, which loads the copy beside the pages: see
:mod:`.feedback`) and comes before anything of the student's; the body holds the template's
score table and the student's cells, so whatever the template makes of a student's data
(an output's metadata, a raw cell) is cleaned as well.
"""

import html

import bleach
from bleach.css_sanitizer import CSSSanitizer
from bs4 import BeautifulSoup

TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "del", "details",
    "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "kbd", "li", "main", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "summary",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var", "wbr",
})
ATTRIBUTES = {
    "*": {"class", "id", "title", "lang", "dir", "style", "tabindex"},
    "a": {"href", "name", "rel"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start", "type"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
}
PROTOCOLS = frozenset({"http", "https", "mailto", "data"})  # data: for images only (see _attribute)
# Elements dropped with their content (bleach would drop the tags and keep their text: a script's code).
DROPPED = ("script", "style", "template", "noscript", "iframe", "frame", "frameset", "noframes", "object",
           "embed", "noembed", "applet", "textarea", "select", "title", "xmp")
# Inline styles that change how a text looks, never where it is (no position, margin or transform:
# student content cannot be laid over the score).
CSS_PROPERTIES = frozenset({
    "color", "background-color", "font-weight", "font-style", "font-family", "text-align", "text-decoration",
    "vertical-align", "white-space", "border", "border-collapse", "border-color", "border-style", "border-width",
    "border-top", "border-bottom", "border-left", "border-right", "padding", "padding-top", "padding-bottom",
    "padding-left", "padding-right", "width", "height", "max-width", "min-width",
})

_CLEANER = bleach.Cleaner(tags=TAGS, attributes=lambda tag, name, value: _attribute(tag, name, value),
                          protocols=PROTOCOLS, strip=True, strip_comments=True,
                          css_sanitizer=CSSSanitizer(allowed_css_properties=CSS_PROPERTIES))


def clean(fragment):
    """``fragment`` (HTML) with only the allowed tags, attributes, URL schemes and styles."""
    fragment = fragment.decode() if isinstance(fragment, bytes) else str(fragment)
    soup = BeautifulSoup(fragment, "html.parser")
    dropped = soup.find_all(DROPPED)
    for element in dropped:
        element.decompose()
    return _CLEANER.clean(str(soup) if dropped else fragment)


def page(document):
    """A whole rendered page: the template's head as it is, everything after ``<body>`` cleaned."""
    head, tag, body = document.partition("<body>")
    if not tag:
        raise ValueError("the rendered page has no <body> tag")
    return f"{head}<body>\n{clean(body)}\n</body>\n</html>\n"


def _attribute(tag, name, value):
    """Allowed attributes; a ``data:`` URL only as an image's source (bleach checks the schemes)."""
    if name not in ATTRIBUTES["*"] and name not in ATTRIBUTES.get(tag, ()):
        return False
    return name != "href" or _scheme(value) != "data"


def _scheme(url):
    """The scheme a browser reads in ``url`` (it ignores whitespace and control characters), lower case."""
    compact = "".join(c for c in html.unescape(url) if " " < c < "\x7f" and c != "`").lower()
    return compact.partition(":")[0] if ":" in compact else ""
