"""The readable text of an HTML page, with its structure kept as Markdown.

Pipelines read text, but a page's structure tells a reader which function or section a
paragraph is about: a documentation page says "Delete an entire directory tree" under the
entry ``shutil.rmtree(path, ...)``, and a passage cut from the paragraph alone no longer names
the function. So `html_to_text` keeps what carries structure, in the Markdown a model reads
best and `longweave.text.headings` can follow:

- headings ``<h1>``-``<h6>`` become ``#``-``######`` lines;
- definition terms (``<dt>``: API entries in Sphinx and MkDocs pages, glossary terms) become
  headings one level below the section they sit in, one more for each nested list, so a
  method is a sub-heading of its class;
- preformatted blocks (``<pre>``) keep their lines and indentation, fenced with ```` ``` ````;
- list items start with ``- ``;
- what is not content is dropped: scripts, styles, navigation (``<nav>`` and anything with
  ``role="navigation"`` or ``role="search"``, such as a documentation sidebar), page footers
  (``<footer>``, ``class="footer"``) and permalink marks (``class="headerlink"``, the "¶"
  after Sphinx headings).

Deliberately not here: tables as Markdown tables (their cells come out one per line), links
and emphasis (their text is kept, the markup is not), and main-content extraction beyond
these rules (readability-style scoring guesses wrong on documentation pages).
"""

from __future__ import annotations

from html.parser import HTMLParser

_SKIP = {"script", "style", "noscript", "template", "head", "svg", "nav", "footer"}
_SKIP_ROLES = {"navigation", "search"}
_SKIP_CLASSES = {"headerlink", "footer"}
_BLOCK = {
    "p", "div", "section", "article", "header", "footer", "li", "ul", "ol", "table", "tr",
    "pre", "blockquote", "br", "hr", "title", "dd", "dl", "main", "figure", "figcaption",
}  # fmt: skip
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
# Elements that never have an end tag: they must not open a skipped region.
_VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source", "wbr"}


class _MarkdownOfHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip: list[str] = []  # tags of the skipped elements we are inside, outermost first
        self._pre = 0
        self._section = 0  # level of the last <h1>-<h6> seen
        self._dl = 0  # depth of nested <dl>
        self._heading: int | None = None  # the level of the heading being read

    def _skips(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        if tag in _SKIP:
            return True
        found = dict(attrs)
        classes = set((found.get("class") or "").split())
        return found.get("role") in _SKIP_ROLES or bool(classes & _SKIP_CLASSES)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip:
            if tag == self._skip[0] and tag not in _VOID:
                self._skip.append(tag)
            return
        if tag not in _VOID and self._skips(tag, attrs):
            self._skip.append(tag)
            return
        if tag in _HEADINGS:
            self._section = _HEADINGS[tag]
            self._open_heading(self._section)
        elif tag == "dt":
            self._open_heading(min(6, self._section + max(1, self._dl)))
        elif tag == "dl":
            self._dl += 1
            self.parts.append("\n")
        elif tag == "pre":
            self._pre += 1
            self.parts.append("\n```\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in _BLOCK:
            self.parts.append("\n")

    def _open_heading(self, level: int) -> None:
        self._heading = level
        self.parts.append("\n\n" + "#" * level + " ")

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            if tag == self._skip[0]:
                self._skip.pop()
            return
        if tag in _HEADINGS or tag == "dt":
            self._heading = None
            self.parts.append("\n\n")
        elif tag == "dl":
            self._dl = max(0, self._dl - 1)
            self.parts.append("\n")
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
            self.parts.append("\n```\n")
        elif tag in _BLOCK and tag != "li":  # the next item's "- " starts its own line
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._heading is not None:  # a heading is one line
            data = data.replace("\n", " ")
        elif self._pre:
            data = data.replace("\n", "\x00")  # kept apart from the layout newlines until `text`
        self.parts.append(data)

    def text(self) -> str:
        out: list[str] = []
        blank = False
        fenced = False
        for raw in "".join(self.parts).split("\n"):
            if fenced and raw != "```":
                lines = [line.rstrip() for line in raw.split("\x00")]
                out.extend(lines[1:] if out and out[-1] == "```" and not lines[0] else lines)
                blank = False
                continue
            line = " ".join(raw.split())
            if line == "```":
                while fenced and out and not out[-1]:  # no blank line before a closing fence
                    out.pop()
                fenced = not fenced
            if line:
                out.append(line)
                blank = False
            elif not blank and out:
                out.append("")
                blank = True
        return "\n".join(_drop_empty_fences(out)).strip()


def _drop_empty_fences(lines: list[str]) -> list[str]:
    """Remove fences around nothing (a ``<pre>`` with no text)."""
    out: list[str] = []
    for line in lines:
        if line == "```" and out and out[-1] == "```":
            out.pop()
            continue
        out.append(line)
    return out


def html_to_text(html: str) -> str:
    """The visible text of an HTML document as Markdown-flavoured text (see the module doc).

    Example:
        >>> html_to_text("<h2>Files</h2><dl><dt>rmtree(path)<a class='headerlink'>¶</a></dt>"
        ...              "<dd><p>Delete a tree.</p></dd></dl>")
        '## Files\\n\\n### rmtree(path)\\n\\nDelete a tree.'
    """
    parser = _MarkdownOfHTML()
    parser.feed(html)
    parser.close()
    return parser.text()


__all__ = ["html_to_text"]
