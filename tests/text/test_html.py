"""HTML pages read as Markdown: the structure a reader needs kept, the page furniture dropped."""

from longweave.text.headings import Headings
from longweave.text.html import html_to_text

# The shape of a Sphinx page (the Python docs): sidebar and related links with role="navigation",
# "¶" permalinks, API entries as <dt> in nested <dl>, code in <pre>, a footer.
SPHINX = """<html><head><title>shutil</title></head><body>
<div class="related" role="navigation"><ul><li><a href="index.html">index</a></li></ul></div>
<div class="body" role="main">
<section><h1>shutil — High-level file operations<a class="headerlink" href="#m">¶</a></h1>
<p>The shutil module offers high-level operations on files.</p>
<section><h2>Directory operations<a class="headerlink" href="#d">¶</a></h2>
<dl class="py function"><dt class="sig" id="shutil.rmtree">shutil.rmtree(<em>path</em>,
 <em>ignore_errors=False</em>)<a class="headerlink" href="#shutil.rmtree">¶</a></dt>
<dd><p>Delete an entire directory tree.</p>
<dl class="py attribute"><dt>rmtree.avoids_symlink_attacks</dt><dd><p>Whether it is safe.</p></dd></dl>
</dd></dl>
<div class="highlight"><pre><span>def</span> remove(func, path):
    <span>os</span>.chmod(path)
    # retry
    func(path)
</pre></div>
<ul><li>one</li><li>two</li></ul>
</section></section></div>
<div class="sphinxsidebar" role="navigation"><h3>This Page</h3><p>Report a Bug</p></div>
<div class="footer">© Copyright 2001-2026.</div>
</body></html>"""


def test_headings_and_api_entries_become_markdown_headings():
    text = html_to_text(SPHINX)
    lines = text.splitlines()
    assert lines[0] == "# shutil — High-level file operations"
    assert "## Directory operations" in lines
    assert "### shutil.rmtree(path, ignore_errors=False)" in lines
    assert "#### rmtree.avoids_symlink_attacks" in lines  # nested under its function
    assert "¶" not in text


def test_navigation_sidebar_and_footer_are_dropped():
    text = html_to_text(SPHINX)
    for furniture in ("index", "This Page", "Report a Bug", "Copyright"):
        assert furniture not in text


def test_code_keeps_its_lines_and_indentation_inside_a_fence():
    text = html_to_text(SPHINX)
    assert "```\ndef remove(func, path):\n    os.chmod(path)\n    # retry\n    func(path)\n```" in text
    assert "- one\n- two" in text


def test_a_paragraph_knows_the_entry_it_describes():
    text = html_to_text(SPHINX)
    headings = Headings(text)
    at = text.index("Delete an entire directory tree")
    assert headings.trail(at) == [
        "shutil — High-level file operations",
        "Directory operations",
        "shutil.rmtree(path, ignore_errors=False)",
    ]
    # A "# comment" inside the code block is not a heading.
    assert "retry" not in " ".join(h.title for h in headings.headings)
    assert headings.label(text.index("Whether it is safe"), last=2) == (
        "shutil.rmtree(path, ignore_errors=False) › rmtree.avoids_symlink_attacks"
    )
