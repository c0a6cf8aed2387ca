"""What a tagged PDF (PDF/UA) must carry, read back with pikepdf: the document's
language and title (shown instead of the file name), its author and subject, the marked
content flag and a structure tree whose headings go in order, whose tables have header
cells and whose figures have a text."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pikepdf


def structure(node: pikepdf.Object) -> Iterator[pikepdf.Dictionary]:
    """Every structure element under `node`, in reading order."""
    kids = node.get("/K")
    if kids is None:
        return
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            yield kid
            yield from structure(kid)


def assert_tagged(data: bytes, *, title: str, lang: str = "fr") -> list[str]:
    """Check the tagged PDF `data`; return its structure element types, in reading order."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        root = pdf.Root
        assert str(root.Lang) == lang
        assert str(pdf.docinfo.Title) == title
        assert bool(root.ViewerPreferences.DisplayDocTitle) is True
        assert bool(root.MarkInfo.Marked) is True
        assert str(pdf.docinfo.Author) == "Compte Ressources"
        assert str(pdf.docinfo.Creator) == "Compte Ressources"
        assert str(pdf.docinfo.Subject)
        with pdf.open_metadata() as xmp:
            assert xmp["pdfuaid:part"] == "1"
            assert xmp["dc:title"] == title
        elements = list(structure(root.StructTreeRoot))
        kinds = [str(element.S)[1:] for element in elements]

        headings = [int(kind[1:]) for kind in kinds if kind in {"H1", "H2", "H3", "H4"}]
        assert headings[0] == 1
        assert all(b <= a + 1 for a, b in zip(headings, headings[1:], strict=False))
        assert kinds.count("Table") <= kinds.count("TH")  # every table has header cells
        for element in elements:
            if element.S == "/Figure":
                assert str(element.get("/Alt", "")).strip(), "a figure without a text"
        return kinds
