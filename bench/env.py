"""Run context shared by the benchmarks: options, the loaded models, machine facts and result files."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
#: Relative to the repository root, as the eval README asks; overridable with --eval-dir.
EVAL_DIR = ROOT.parent / "shared" / "eval"
#: Where the product builds its models; the standalone benchmarks load theirs from here (``--cache-dir``).
CACHE_DIR = Path.home() / ".cache" / "babelsearch"
PACKAGES = ("babelsearch", "torch", "sentence-transformers", "transformers", "faiss-cpu", "numpy", "SQLAlchemy",
            "lingua-language-detector", "matplotlib")


@dataclass
class RunOptions:
    """What the command line asked for.

    Attributes:
        size: "quick" (tiny: the smoke test), "full" (the default, sized to finish within an hour on two
            shared cores) or "complete" (all of XQuAD and Tatoeba; several times longer).
        eval_dir: folder holding xquad/ and tatoeba/.
        results_dir: where JSON results and plots go.
        report: the Markdown report to regenerate.
        work_dir: scratch space for data directories and temp files.
        threads: torch threads (0 keeps torch's default).
    """

    size: str
    eval_dir: Path
    results_dir: Path
    report: Path
    work_dir: Path
    threads: int = 0


@dataclass
class Context:
    """Options plus lazily loaded models, shared by every benchmark of one run."""

    options: RunOptions
    _embedder: Any = field(default=None, repr=False)
    _direct: Any = field(default=None, repr=False)

    @property
    def quick(self) -> bool:
        """Tiny sizes?"""
        return self.options.size == "quick"

    @property
    def size(self) -> str:
        """The size profile: "quick", "full" or "complete"."""
        return self.options.size

    def settings(self, home: Path, **overrides: Any) -> Any:
        """Product settings for a data directory, ignoring BABELSEARCH_* variables of the caller.

        Args:
            home: the data directory.
            **overrides: other settings.

        Returns:
            ``indexer.config.Settings``.
        """
        from indexer.config import load_settings

        return load_settings(str(home), environ={}, threads=self.options.threads or None, **overrides)

    @property
    def embedder(self) -> Any:
        """The product's Embedder with the default settings (loaded once, not timed)."""
        if self._embedder is None:
            s = self.settings(self.options.work_dir / "unused-home")
            from indexer.embedder import Embedder

            self._embedder = Embedder(s.model, s.prompts, s.cache_path, s.batch_size, s.threads)
        return self._embedder

    @property
    def model_dir(self) -> str:
        """The local directory of the default model, as a user would pass it to SentenceTransformer."""
        from indexer.embedder import resolve_model_path

        s = self.settings(self.options.work_dir / "unused-home")
        return resolve_model_path(s.model, s.cache_path)

    @property
    def direct_model(self) -> Any:
        """A plain ``SentenceTransformer(model_dir)``: the hand-written baseline's model, its own instance."""
        if self._direct is None:
            self._direct = load_direct_model(self.model_dir)
        return self._direct


def load_direct_model(model_dir: str) -> Any:
    """Load the model the way a user would, without the product's wrapper.

    Args:
        model_dir: a sentence-transformers directory.

    Returns:
        The SentenceTransformer on CPU.
    """
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    return SentenceTransformer(model_dir, device="cpu")


def machine() -> dict[str, Any]:
    """CPU, cores, threads in use, load and package versions: recorded in every result file."""
    import faiss

    # Read before torch's thread pool starts: starting it sets the OpenMP thread count FAISS shares.
    faiss_threads = faiss.omp_get_max_threads()
    import torch

    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "faiss_threads": faiss_threads, "load_average": [round(x, 2) for x in os.getloadavg()],
            "memory_gb": _memory_gb(), "python": platform.python_version(), "platform": platform.platform(),
            "versions": {name: _version(name) for name in PACKAGES}, "git_commit": _git_commit(),
            "date": datetime.now(UTC).isoformat(timespec="seconds")}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float | None:
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None
    return round(pages / 2**30, 1)


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def rss_mb() -> float:
    """This process's resident memory now, in MB (Linux /proc)."""
    return _status_mb("VmRSS:")


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB.

    VmHWM is reset by exec, unlike ``ru_maxrss``, which a child started with fork + exec inherits
    from its parent's size at the fork.
    """
    value = _status_mb("VmHWM:")
    return value if value == value else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status_mb(key: str) -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def file_mb(*paths: Path) -> float:
    """Total size of the files that exist among ``paths``, in MB."""
    return round(sum(p.stat().st_size for p in paths if p.exists()) / 2**20, 2)


def percentiles(values_ms: list[float]) -> dict[str, float]:
    """p50, p95, mean and count of a list of milliseconds."""
    arr = np.asarray(values_ms, dtype=np.float64)
    if not len(arr):
        return {"n": 0}
    return {"p50": round(float(np.percentile(arr, 50)), 2), "p95": round(float(np.percentile(arr, 95)), 2),
            "mean": round(float(arr.mean()), 2), "n": int(len(arr))}


def ratio(a: float, b: float) -> float | None:
    """a / b rounded, or None when b is zero."""
    return round(a / b, 3) if b else None


def write_result(ctx: Context, name: str, data: dict[str, Any], started: float) -> Path:
    """Write one benchmark's JSON with the machine facts and run options.

    Args:
        ctx: the run context.
        name: benchmark name (the file is ``<name>.json``).
        data: the measurements.
        started: ``time.perf_counter()`` at the start of the benchmark.

    Returns:
        The path written.
    """
    out = {"name": name, "quick": ctx.quick, "size": ctx.size, **_run_facts(started), **data}
    return write_json(ctx.options.results_dir / f"{name}.json", out)


def write_json(path: Path, data: dict[str, Any]) -> Path:
    """Write a result file (indented UTF-8 JSON; NumPy scalars and paths converted).

    Args:
        path: the file; its folder is created.
        data: the result.

    Returns:
        The path written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default) + "\n", encoding="utf-8")
    logger.info("wrote %s", path)
    return path


def _run_facts(started: float) -> dict[str, Any]:
    # Called last, so that the machine facts show the threads and load the benchmark ran with.
    return {
        "wall_s": round(time.perf_counter() - started, 1),
        "machine": machine(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }


def setup_logging() -> None:
    """Log INFO lines with a time stamp to stderr; keep the libraries' chatter at warnings."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for name in ("sentence_transformers", "httpx", "faiss.loader"):
        logging.getLogger(name).setLevel(logging.WARNING)


def set_threads(threads: int) -> None:
    """Set torch's thread count; 0 keeps torch's own choice."""
    if threads:
        import torch

        torch.set_num_threads(threads)


def run_json_child(cmd: list[str], out: Path, what: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a benchmark step in a new Python process (its memory is its own) and read the JSON it wrote.

    Args:
        cmd: the command, writing its result to ``out``.
        out: the result file.
        what: the step, for the error message.
        env: extra variables; the caller's ``BABELSEARCH_*`` settings are never passed on.

    Returns:
        The parsed result.

    Raises:
        RuntimeError: when the process fails (with the end of its stderr).
    """
    child = {k: v for k, v in os.environ.items() if not k.startswith("BABELSEARCH_")} | (env or {})
    child["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    proc = subprocess.run(cmd, cwd=ROOT, env=child, capture_output=True, text=True, timeout=3600, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(out.read_text(encoding="utf-8"))


def standalone_parser(name: str, description: str | None, eval_dir: bool = True) -> argparse.ArgumentParser:
    """The options shared by the benchmarks that run on their own (``python -m bench.<name>``).

    They measure the NLI reranker, which ``python -m bench`` does not run; their results stay in
    ``bench/results/<name>.json`` and are reported from there.

    Args:
        name: the module name under ``bench`` and the default result file's stem.
        description: the help text (the module's docstring).
        eval_dir: add ``--eval-dir`` (a benchmark reading a single data folder names its own option instead).

    Returns:
        A parser with --model, --eval-dir, --cache-dir, --out and --threads; the caller adds its own options.
    """
    from indexer.nli import BUILTIN

    p = argparse.ArgumentParser(prog=f"python -m bench.{name}", description=description)
    p.add_argument("--model", default=BUILTIN, help="builtin:nli, a Hub id or a local directory")
    if eval_dir:
        p.add_argument("--eval-dir", type=Path, default=EVAL_DIR, help=f"evaluation data (default: {EVAL_DIR})")
    p.add_argument("--cache-dir", type=Path, default=CACHE_DIR, help=f"built models (default: {CACHE_DIR})")
    p.add_argument("--out", type=Path, default=RESULTS / f"{name}.json", help="the result file")
    p.add_argument("--threads", type=int, default=2, help="torch threads (0: torch's own choice)")
    return p


def run_standalone(
    parser: argparse.ArgumentParser,
    measure: Callable[[argparse.Namespace], dict[str, Any]],
    argv: list[str] | None = None,
) -> int:
    """Parse the command line, set up logging and threads, measure and write the result file.

    The file holds the measurements, then the name, wall time, machine facts and command, like the results
    of ``python -m bench``.

    Args:
        parser: from :func:`standalone_parser`, with the benchmark's own options added.
        measure: the benchmark: parsed options -> measurements.
        argv: arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status (0).
    """
    args = parser.parse_args(argv)
    setup_logging()
    set_threads(args.threads)
    started = time.perf_counter()
    data = measure(args)
    write_json(args.out, {"name": args.out.stem, **data, **_run_facts(started)})
    return 0


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
