import pytest

from longweave.errors import InputError
from longweave.text import iter_chunks
from longweave.text.documents import Corpus, html_to_text, load_corpus, load_document, open_text


def _pdf(text: str) -> bytes:
    """A minimal one-page PDF with `text` on it, xref offsets computed."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_plain_markdown_and_encodings(tmp_path):
    (tmp_path / "a.md").write_text("# Title\n\nSome *text*.", encoding="utf-8")
    assert load_document(tmp_path / "a.md").text == "# Title\n\nSome *text*."
    (tmp_path / "latin.txt").write_bytes("Café crème brûlée à la française, déjà vu.".encode("latin-1") * 20)
    assert load_document(tmp_path / "latin.txt").text.startswith("Café crème brûlée")
    (tmp_path / "u16.txt").write_text("Grüße aus Köln", encoding="utf-16")
    assert load_document(tmp_path / "u16.txt").text == "Grüße aus Köln"


def test_html_is_reduced_to_visible_text(tmp_path):
    html = (
        "<html><head><title>T</title><style>p{}</style></head><body><h1>Head</h1>"
        "<p>One &amp; two</p><script>x()</script><p>Three</p></body></html>"
    )
    assert html_to_text(html) == "# Head\n\nOne & two\n\nThree"
    (tmp_path / "p.html").write_text(html)
    assert "x()" not in load_document(tmp_path / "p.html").text


def test_pdf_text_is_extracted(tmp_path):
    (tmp_path / "doc.pdf").write_bytes(_pdf("Hello from a PDF"))
    assert "Hello from a PDF" in load_document(tmp_path / "doc.pdf").text
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4\ngarbage")
    with pytest.raises(InputError, match="bad.pdf"):
        load_document(tmp_path / "bad.pdf")


def test_binary_empty_missing_are_rejected_clearly(tmp_path):
    (tmp_path / "x.bin").write_bytes(bytes(range(256)) * 10)
    with pytest.raises(InputError, match="binary"):
        load_document(tmp_path / "x.bin")
    (tmp_path / "empty.txt").write_text("  \n")
    with pytest.raises(InputError, match="no text"):
        load_document(tmp_path / "empty.txt")
    with pytest.raises(InputError, match="does not exist"):
        load_document(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="directory"):
        load_document(tmp_path)
    with pytest.raises(InputError):
        load_corpus([])


def test_corpus_keeps_names_and_offsets(tmp_path):
    (tmp_path / "a.txt").write_text("Alpha text.")
    (tmp_path / "b.txt").write_text("Beta text.")
    corpus = load_corpus([tmp_path / "a.txt", tmp_path / "b.txt"])
    assert isinstance(corpus, Corpus) and [s.name.rsplit("/", 1)[-1] for s in corpus.sources] == [
        "a.txt",
        "b.txt",
    ]
    b = corpus.sources[1]
    assert corpus.text[b.start : b.end] == "Beta text."
    name, local = corpus.locate(b.start + 5)
    assert name.endswith("b.txt") and local == 5


def test_large_files_stream_through_iter_chunks(tmp_path):
    text = "".join(f"Line {i} of a long file.\n" for i in range(20_000))
    (tmp_path / "big.txt").write_text(text, encoding="utf-8")
    with open_text(tmp_path / "big.txt") as fh:
        parts = list(iter_chunks(fh, 500, block_chars=50_000))
    assert "".join(parts) == text and all(p.tokens <= 500 for p in parts)
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(InputError):
        open_text(tmp_path / "empty.txt")
