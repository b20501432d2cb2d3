"""The audit pack as files an auditor opens without Roster: one PDF per sampled file, an index (HTML and CSV)
in a ZIP, or the scores as one XLSX sheet.

Rendering is CPU-bound (WeasyPrint lays out HTML with Pango), so callers run these functions in a worker
thread. The ZIP is written to a file one PDF at a time: memory holds one rendered file, never the pack.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl
import xlsxwriter
from jinja2 import Environment, FileSystemLoader, select_autoescape

from roster import spreadsheet
from roster.api.tabular import csv_of
from roster.audits.service import AuditFile, AuditPull

ZIP = "application/zip"
#: Files laid out together as one document before being split into their own PDFs.
RENDER_BATCH = 10
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: One row per sampled file x element, in the CSV index and the XLSX.
SCORE_COLUMNS: dict[str, pl.DataType | type[pl.DataType]] = {
    "number": pl.Int64,
    "pdf": pl.String,
    "physician_id": pl.String,
    "npi": pl.String,
    "name": pl.String,
    "decision_id": pl.String,
    "kind": pl.String,
    "decided_on": pl.Date,
    "decision": pl.String,
    "element": pl.String,
    "present": pl.Boolean,
    "timely": pl.Boolean,
    "source_ok": pl.Boolean,
    "window_days": pl.Int64,
    "verified_on": pl.Date,
    "source": pl.String,
    "method": pl.String,
    "verified_by": pl.String,
    "outcome": pl.String,
    "evidence_sha256": pl.String,
}

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def file_name(number: int, file: AuditFile) -> str:
    """The PDF's name in the pack: its place in the index, then whom and what it is about."""
    return f"{number:03d}-{file.physician['npi']}-{file.ref.kind}-{file.ref.decided_on.isoformat()}.pdf"


def pack_name(pulled: AuditPull, suffix: str) -> str:
    return f"audit-files-{pulled.period_start.isoformat()}-{pulled.period_end.isoformat()}-seed-{pulled.seed}.{suffix}"


def score_rows(pulled: AuditPull) -> Iterator[dict[str, Any]]:
    for number, file in enumerate(pulled.files, start=1):
        for score in file.scores:
            v = score.relied_on
            yield {
                "number": number,
                "pdf": file_name(number, file),
                "physician_id": str(file.ref.physician_id),
                "npi": file.physician["npi"],
                "name": file.name,
                "decision_id": str(file.ref.decision_id),
                "kind": file.ref.kind,
                "decided_on": file.ref.decided_on,
                "decision": file.ref.decision,
                "element": score.element,
                "present": score.present,
                "timely": score.timely,
                "source_ok": score.source_ok,
                "window_days": score.window_days,
                "verified_on": None if v is None else v.verified_on,
                "source": None if v is None else v.source,
                "method": None if v is None else v.method,
                "verified_by": None if v is None else v.verified_by,
                "outcome": None if v is None else v.outcome,
                "evidence_sha256": None if v is None else v.evidence_sha256,
            }


def verdict(file: AuditFile) -> str:
    """The file's finding in one sentence (also the PDF's subject, so a file browser shows it)."""
    findings = _findings(file)
    return "Findings: " + "; ".join(findings) + "." if findings else "Every element present, timely and acceptable."


def _findings(file: AuditFile) -> list[str]:
    out = []
    for s in file.scores:
        if not s.present:
            out.append(f"{s.element} not verified")
        else:
            if not s.timely:
                out.append(f"{s.element} outside its window")
            if not s.source_ok:
                out.append(f"{s.element} from an unlisted source")
    return out


def files_html(pulled: AuditPull, batch: list[tuple[int, AuditFile]], *, actor: str, generated_at: datetime) -> str:
    """One HTML document of several files, a section each, every section starting a page."""
    return _templates.get_template("files.html").render(
        pull=pulled,
        batch=batch,
        total=len(pulled.files),
        verdict=verdict,
        actor=actor,
        generated_at=generated_at.isoformat(timespec="seconds"),
    )


def index_html(pulled: AuditPull, *, actor: str, generated_at: datetime) -> str:
    rows = [{"number": n, "pdf": file_name(n, f), "file": f} for n, f in enumerate(pulled.files, start=1)]
    return _templates.get_template("index.html").render(
        pull=pulled, rows=rows, actor=actor, generated_at=generated_at.isoformat(timespec="seconds")
    )


def rendered_files(
    pulled: AuditPull, *, actor: str, generated_at: datetime, batch_size: int = RENDER_BATCH
) -> Iterator[tuple[str, bytes]]:
    """``(name, PDF)`` per sampled file, in index order.

    Files are laid out ``batch_size`` at a time as one document (WeasyPrint parses the styles and sets up
    the fonts once per document, much of a short file's cost), then each file's pages are
    written as a PDF of its own, titled with the file's identity and its finding. Memory holds one batch."""
    from weasyprint import HTML  # here: loading Pango costs start-up time only where a pack is made
    from weasyprint.document import DocumentMetadata
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    numbered = list(enumerate(pulled.files, start=1))
    for start in range(0, len(numbered), batch_size):
        batch = numbered[start : start + batch_size]
        document = HTML(string=files_html(pulled, batch, actor=actor, generated_at=generated_at)).render(
            font_config=fonts
        )
        first_page = {}
        for index, page in enumerate(document.pages):
            for anchor in page.anchors:
                if anchor.startswith("file-"):
                    first_page.setdefault(int(anchor.removeprefix("file-")), index)
        for position, (number, file) in enumerate(batch):
            begin = first_page[number]
            end = first_page[batch[position + 1][0]] if position + 1 < len(batch) else len(document.pages)
            one = document.copy(document.pages[begin:end])
            one.metadata = DocumentMetadata(
                title=f"Credentialing file {number}: {file.name}, NPI {file.physician['npi']}, "
                f"decision {file.ref.decision_id}",
                description=verdict(file),
                generator="Roster",
                created=generated_at.isoformat(timespec="seconds"),
            )
            yield file_name(number, file), one.write_pdf()


def write_zip(pulled: AuditPull, target: BinaryIO, *, actor: str, generated_at: datetime) -> None:
    """The pack into ``target``: ``index.html``, ``index.csv``, then one PDF per file, each written as soon as
    its batch is rendered."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as pack:
        pack.writestr("index.html", index_html(pulled, actor=actor, generated_at=generated_at))
        pack.writestr("index.csv", csv_of(list(score_rows(pulled)), SCORE_COLUMNS))
        for name, pdf in rendered_files(pulled, actor=actor, generated_at=generated_at):
            # PDF streams are compressed already: stored, not deflated again.
            pack.writestr(name, pdf, compress_type=zipfile.ZIP_STORED)


def xlsx(pulled: AuditPull) -> bytes:
    """The scores, one row per file x element, on one sheet (text escaped so no cell runs as a formula)."""
    rows = list(score_rows(pulled))
    frame = pl.DataFrame(rows, schema=SCORE_COLUMNS, orient="row") if rows else pl.DataFrame(schema=SCORE_COLUMNS)
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"strings_to_numbers": False, "strings_to_formulas": False}) as workbook:
        spreadsheet.escape_text(frame).write_excel(workbook, worksheet="files", autofit=False, table_style=None)
    return buffer.getvalue()
