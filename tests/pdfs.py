"""Real PDFs with a text layer, drawn with reportlab, for the loader, page-number and fuzz tests."""

from __future__ import annotations

import io


def pdf_bytes(pages: list[list[str]], title: str | None = None) -> bytes:
    """A PDF of ``pages``, each a list of lines drawn top down; ``title`` goes into its metadata."""
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    if title:
        pdf.setTitle(title)
    for lines in pages:
        for i, line in enumerate(lines):
            pdf.drawString(72, 720 - 18 * i, line)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()
