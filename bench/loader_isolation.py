"""Cost of loading files in the isolated worker vs in the ingest process (``python -m bench.loader_isolation``).

The same generated files (small and medium .txt, .html, .docx, .csv, .pdf) are loaded in alternating
rounds by ``load_file`` in this process and by one reused ``LoaderWorker``, so the ratio holds on a
shared machine. The worker's start (a fresh interpreter importing the parsers) is measured apart.
"""

from __future__ import annotations

import argparse
import io
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.env import RESULTS, ratio, run_standalone

logger = logging.getLogger(__name__)

SENTENCE = "The river dam failed after three days of heavy rain, and engineers had warned about cracks. "


def _files(folder: Path, sentences: int) -> list[Path]:
    import docx
    from reportlab.pdfgen import canvas

    text = SENTENCE * sentences
    paths = {"a.txt": text.encode(), "a.html": f"<html><body><p>{text}</p></body></html>".encode(),
             "a.csv": ("text,n\n" + "".join(f'"{SENTENCE}",{i}\n' for i in range(sentences))).encode()}  # fmt: skip
    document = docx.Document()
    for _ in range(max(sentences // 10, 1)):
        document.add_paragraph(SENTENCE * 10)
    buffer = io.BytesIO()
    document.save(buffer)
    paths["a.docx"] = buffer.getvalue()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for line in range(min(sentences, 40)):
        pdf.drawString(36, 800 - 18 * line, SENTENCE)
    pdf.save()
    paths["a.pdf"] = buffer.getvalue()
    out = []
    for name, data in paths.items():
        path = folder / f"{sentences}-{name}"
        path.write_bytes(data)
        out.append(path)
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Load every file ``--rounds`` times each way, alternating; report per-file milliseconds."""
    from indexer.loaders import load_file
    from indexer.loaders.isolate import LoaderWorker

    with tempfile.TemporaryDirectory() as tmp, LoaderWorker() as worker:
        files = _files(Path(tmp), 5) + _files(Path(tmp), 500)
        start = time.perf_counter()
        worker.load(files[0], files[0].name)
        start_s = time.perf_counter() - start
        inproc: dict[str, list[float]] = {p.name: [] for p in files}
        isolated: dict[str, list[float]] = {p.name: [] for p in files}
        for _ in range(args.rounds):
            for path in files:
                t0 = time.perf_counter()
                load_file(path)
                t1 = time.perf_counter()
                worker.load(path, path.name)
                t2 = time.perf_counter()
                inproc[path.name].append((t1 - t0) * 1000)
                isolated[path.name].append((t2 - t1) * 1000)
    rows = {name: {"in_process_ms": statistics.median(inproc[name]), "isolated_ms": statistics.median(isolated[name]),
                   "overhead_ms": statistics.median(isolated[name]) - statistics.median(inproc[name])}
            for name in inproc}  # fmt: skip
    total_in = sum(r["in_process_ms"] for r in rows.values())
    total_iso = sum(r["isolated_ms"] for r in rows.values())
    logger.info("worker start %.2f s; all files %.1f ms in process, %.1f ms isolated", start_s, total_in, total_iso)
    return {"rounds": args.rounds, "worker_start_s": start_s, "files": rows, "sum_in_process_ms": total_in,
            "sum_isolated_ms": total_iso, "isolated_over_in_process": ratio(total_iso, total_in),
            "worker_restarts": worker.starts - 1}  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.loader_isolation", description=__doc__)
    p.add_argument("--rounds", type=int, default=20, help="loads of each file each way")
    p.add_argument("--threads", type=int, default=1, help="CPU threads (unused by the loaders)")
    p.add_argument("--out", type=Path, default=RESULTS / "loader_isolation.json", help="the result file")
    return p


if __name__ == "__main__":
    raise SystemExit(run_standalone(_parser(), run))
