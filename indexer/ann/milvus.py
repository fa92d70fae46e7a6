"""Milvus vector index: vectors in a Milvus collection, through Milvus Lite (a local file) or a server by URI."""

from __future__ import annotations

import importlib.util
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from indexer.ann.base import VectorIndex, pad_results
from indexer.ann.milvus_expr import id_filter, safe_uri
from indexer.errors import VectorIndexError

# pymilvus takes 1-3 s to import (pandas, gRPC): imported on first use, not by every process that uses FAISS.
MILVUS = importlib.util.find_spec("pymilvus") is not None

if TYPE_CHECKING:
    from pymilvus import MilvusClient


#: Most hits Milvus returns for one query (its top-k limit).
MAX_LIMIT = 16384
#: Rows per insert or upsert request (384-dim float32: ~7.5 MB, well under gRPC's message limit).
ROW_BATCH = 5000
#: Ids per lookup or delete request (a query returns at most MAX_LIMIT rows).
ID_BATCH = 16384
#: Build and search parameters of the index types offered (FLAT: exact, the contract's reference).
INDEX_TYPES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "FLAT": ({}, {}),
    "HNSW": ({"M": 16, "efConstruction": 200}, {"ef": 128}),
    "IVF_FLAT": ({"nlist": 1024}, {"nprobe": 32}),
    "AUTOINDEX": ({}, {}),
}


def _batches(array: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(array), size):
        yield array[start : start + size]


class MilvusIndex(VectorIndex):
    """Vectors in a Milvus collection: Milvus Lite behind a local ``*.db`` URI, a standalone or a cluster by URL.

    The configured collection name is an alias: ``index`` fills a new collection and then points the alias at
    it, so readers on other machines never see a half-built index. ``save`` writes a small descriptor (URI,
    collection, dimension, count) where a file index would write its vectors; ``load`` attaches to the
    collection the descriptor names. Scores are inner products (``IP``) of normalised vectors.

    Args:
        dim: vector dimension.
        uri: a Milvus Lite file (``/path/vectors.db``) or a server URL (``http://host:19530``).
        collection: name (alias) of the collection holding this index's vectors.
        index_type: ``FLAT`` (exact), ``HNSW``, ``IVF_FLAT`` or ``AUTOINDEX``.
    """

    name = "milvus"

    def __init__(self, dim: int, uri: str = "", collection: str = "babelsearch_chunks", index_type: str = "FLAT"):
        if not MILVUS:
            raise ImportError("pymilvus is not available - install babelsearch[milvus] (pymilvus, milvus-lite)")
        if not uri:
            raise ValueError("milvus_uri is empty: set a Milvus Lite file (/path/vectors.db) or a server URL")
        if index_type.upper() not in INDEX_TYPES:
            raise ValueError(f"milvus_index={index_type!r}: choose one of {', '.join(INDEX_TYPES)}")
        super().__init__(dim)
        self.uri, self.collection, self.index_type = uri, collection, index_type.upper()
        self._client_: MilvusClient | None = None
        self._exists: bool | None = None  # None: not checked yet
        self._max_hint: int | None = None  # the largest id written or saved; None: unknown, list the ids

    # --- connection -----------------------------------------------------------------------------

    @property
    def _client(self) -> MilvusClient:
        # Connect on first use: Milvus Lite starts its engine (seconds), which an unused index should not pay.
        if self._client_ is None:
            # Milvus Lite serves in this process: no link to keep alive, and its gRPC server answers the client's
            # idle keepalive pings with "too many pings", which breaks the shared connection for later clients.
            options = {"grpc_options": {"grpc.keepalive_time_ms": 2**31 - 1}} if self.uri.endswith(".db") else {}
            from pymilvus import MilvusClient
            from pymilvus.exceptions import MilvusException

            try:
                self._client_ = MilvusClient(uri=self.uri, **options)
            except MilvusException as e:
                # A Milvus Lite file is open in one process at a time (the UI and a worker need a server).
                alone = " - a Milvus Lite file opens in one process only" if self.uri.endswith(".db") else ""
                raise VectorIndexError(f"Milvus at {safe_uri(self.uri)}: cannot connect ({e.message}){alone}") from e
        return self._client_

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        # Translate Milvus errors at the boundary, naming the server and the collection.
        from pymilvus.exceptions import MilvusException

        try:
            return fn(*args, **kwargs)
        except MilvusException as e:
            raise VectorIndexError(f"Milvus {what} on {self.collection!r} at {safe_uri(self.uri)}: {e.message}") from e

    def _present(self) -> bool:
        if self._exists is None:
            self._exists = bool(self._call("lookup", self._client.has_collection, self.collection))
            if self._exists:
                self._check_dim()
                self._call("load", self._client.load_collection, self.collection)
        return self._exists

    def _check_dim(self) -> None:
        info = self._call("describe", self._client.describe_collection, self.collection)
        dims = [f["params"].get("dim") for f in info["fields"] if f["name"] == "vector"]
        if not dims or int(dims[0]) != self.dim:
            raise VectorIndexError(
                f"Milvus collection {self.collection!r} at {safe_uri(self.uri)} holds vectors of "
                f"dimension {dims[0] if dims else '?'}, expected {self.dim}"
            )

    # --- collections ----------------------------------------------------------------------------

    def _create(self, name: str) -> None:
        from pymilvus import DataType

        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
        params = self._client.prepare_index_params()
        # Inner product == cosine on normalised vectors, as in the FAISS and NumPy indexes.
        params.add_index(
            field_name="vector", index_type=self.index_type, metric_type="IP", params=INDEX_TYPES[self.index_type][0]
        )
        # Strong consistency: a search sees every write acknowledged before it (the contract of the other backends).
        self._call(
            "create",
            self._client.create_collection,
            name,
            schema=schema,
            index_params=params,
            consistency_level="Strong",
        )

    def _target(self) -> str | None:
        """The collection the alias points at; None if the name is a plain collection or does not exist."""
        # Listed first: describing a missing alias is an error that pymilvus logs as one.
        if self.collection not in self._call("aliases", self._client.list_aliases)["aliases"]:
            return None
        return self._call("alias", self._client.describe_alias, self.collection)["collection_name"]

    def _ensure(self) -> None:
        if not self._present():
            self.index(np.empty(0, np.int64), np.empty((0, self.dim), np.float32))

    # --- verbs ----------------------------------------------------------------------------------

    def index(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = self._check(ids, vectors)
        client, old = self._client, self._target()
        fresh = f"{self.collection}_{time.time_ns()}"
        self._create(fresh)
        self._insert(fresh, ids, vectors, "insert")
        # Sealed segments are indexed (and, in Milvus Lite, searched ~10x faster than its in-memory buffer).
        self._call("flush", client.flush, fresh)
        self._max_hint = int(ids.max()) if len(ids) else -1
        if old is not None:
            self._call("alias", client.alter_alias, fresh, self.collection)
            self._call("drop", client.drop_collection, old)
        else:
            if self._call("lookup", client.has_collection, self.collection):
                # A plain collection of that name (not made here): replaced by the alias.
                self._call("drop", client.drop_collection, self.collection)
            self._call("alias", client.create_alias, fresh, self.collection)
        self._exists = True

    def _insert(self, name: str, ids: np.ndarray, vectors: np.ndarray, verb: str) -> None:
        call = self._client.insert if verb == "insert" else self._client.upsert
        for start in range(0, len(ids), ROW_BATCH):
            rows = [
                {"id": int(i), "vector": v}
                for i, v in zip(ids[start : start + ROW_BATCH], vectors[start : start + ROW_BATCH])
            ]
            self._call(verb, call, name, rows)

    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = self._check(ids, vectors)
        if not len(ids):
            return
        self._ensure()
        # Milvus upsert replaces rows by primary key; the last of repeated ids wins, as in the other backends.
        ids, last = np.unique(ids[::-1], return_index=True)
        self._insert(self.collection, ids, vectors[::-1][last], "upsert")
        if self._max_hint is not None:
            self._max_hint = max(self._max_hint, int(ids.max()))

    def _lookup(self, ids: np.ndarray) -> np.ndarray:
        found: list[int] = []
        for batch in _batches(np.unique(ids), ID_BATCH):
            rows = self._call(
                "query",
                self._client.query,
                self.collection,
                filter=id_filter(batch),
                output_fields=["id"],
                limit=len(batch),
            )
            found += [int(r["id"]) for r in rows]
        return np.array(sorted(found), dtype=np.int64)

    def delete(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if not len(ids) or not self._present():
            return np.empty(0, np.int64)
        # Milvus reports the ids asked for, not those it held: look them up first.
        present = self._lookup(ids)
        for batch in _batches(present, ID_BATCH):
            self._call("delete", self._client.delete, self.collection, filter=id_filter(batch))
        return present

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None, quick: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        empty = (allowed is not None and len(allowed) == 0) or not self._present()
        if empty or k <= 0 or not len(queries):
            return pad_results([np.empty(0)] * len(queries), [np.empty(0, np.int64)] * len(queries), k)
        params = {"metric_type": "IP", "params": INDEX_TYPES[self.index_type][1]}
        if self.index_type == "HNSW":
            params["params"] = {"ef": max(k, params["params"]["ef"])}
        hits = self._call(
            "search",
            self._client.search,
            self.collection,
            data=queries,
            limit=min(k, MAX_LIMIT),
            output_fields=["id"],
            search_params=params,
            filter=id_filter(allowed) if allowed is not None else "",
        )
        scores, found = [], []
        for row in hits:
            s = np.array([h["distance"] for h in row], dtype=np.float32)
            i = np.array([h["id"] for h in row], dtype=np.int64)
            # Ties break by the lower id, as in the FAISS flat index and the NumPy oracle.
            order = np.lexsort((i, -s))
            scores.append(s[order])
            found.append(i[order])
        return pad_results(scores, found, k)

    def count(self) -> int:
        if not self._present():
            return 0
        rows = self._call("count", self._client.query, self.collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def ids(self) -> np.ndarray:
        if not self._present():
            return np.empty(0, np.int64)
        it = self._call(
            "scan", self._client.query_iterator, self.collection, batch_size=ID_BATCH, filter="", output_fields=["id"]
        )
        found: list[int] = []
        try:
            while batch := self._call("scan", it.next):
                found += [int(r["id"]) for r in batch]
        finally:
            it.close()
        return np.array(sorted(found), dtype=np.int64)

    def max_id(self) -> int:
        # Listing every id is a full scan (tens of seconds at 100k on Milvus Lite): answer from what was written.
        if self._max_hint is None:
            self._max_hint = super().max_id()
        return self._max_hint

    def save(self, path: Path) -> None:
        if self._present():
            # Sealed segments survive a restart of a standalone server without replaying its log.
            self._call("flush", self._client.flush, self.collection)
        descriptor = {
            "backend": self.name,
            "uri": safe_uri(self.uri),
            "collection": self.collection,
            "dim": self.dim,
            "count": self.count(),
            "index_type": self.index_type,
            "max_id": self.max_id(),
        }
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(descriptor, indent=2), encoding="utf-8")
        os.replace(tmp, path)

    def load(self, path: Path) -> None:
        try:
            descriptor = json.loads(path.read_text(encoding="utf-8"))
            uri, collection, dim = descriptor["uri"], descriptor["collection"], int(descriptor["dim"])
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
            raise VectorIndexError(f"{path}: unreadable Milvus index descriptor ({e})") from e
        if dim != self.dim:
            raise VectorIndexError(f"{path}: vectors of dimension {dim}, expected {self.dim}")
        if (uri, collection) != (safe_uri(self.uri), self.collection):
            raise VectorIndexError(
                f"{path}: saved for collection {collection!r} at {uri}, but the settings name "
                f"{self.collection!r} at {safe_uri(self.uri)}"
            )
        self._exists = None
        self._max_hint = int(descriptor["max_id"]) if isinstance(descriptor.get("max_id"), int) else None
        if not self._present():
            raise VectorIndexError(f"{path}: Milvus collection {collection!r} at {uri} does not exist")

    def close(self) -> None:
        if self._client_ is not None:
            self._client_.close()
            self._client_, self._exists = None, None

    def structure(self) -> dict[str, Any]:
        """The Milvus index type, collection and server (password hidden), for the index metadata."""
        kind = "exact" if self.index_type == "FLAT" else self.index_type.lower()
        return {
            "type": kind,
            "engine": "milvus",
            "index_type": self.index_type,
            "collection": self.collection,
            "uri": safe_uri(self.uri),
        }
