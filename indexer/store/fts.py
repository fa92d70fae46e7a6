"""Keyword index over chunks in SQLite: FTS5 over the segmented text (see ``keywords``), ranked by BM25."""

from __future__ import annotations

from sqlalchemy import Connection, text

from indexer.store.keywords import filter_clauses, parse, segment

CREATE = ("CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(text, "
          "tokenize='unicode61 remove_diacritics 2')")


def create(conn: Connection) -> None:
    """Create the FTS5 table and fill it from existing chunks when it is new.

    Args:
        conn: a SQLite connection inside a transaction.
    """
    exists = conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'chunks_fts'")).first()
    conn.execute(text(CREATE))
    if not exists:
        rows = conn.execute(text("SELECT id, text FROM chunks")).all()
        insert(conn, [(r[0], r[1]) for r in rows])


def insert(conn: Connection, rows: list[tuple[int, str]]) -> None:
    """Index chunk texts under their chunk ids."""
    if rows:
        conn.execute(text("INSERT INTO chunks_fts(rowid, text) VALUES (:id, :text)"),
                     [{"id": i, "text": segment(t)} for i, t in rows])


def delete(conn: Connection, ids: list[int]) -> None:
    """Remove chunks from the keyword index."""
    for start in range(0, len(ids), 900):
        part = ids[start:start + 900]
        conn.execute(text(f"DELETE FROM chunks_fts WHERE rowid IN ({','.join(map(str, part))})"))


def match_expression(query: str) -> str:
    """Turn a user query into an FTS5 MATCH expression.

    Quoted phrases must all match; the other words are alternatives ranked by BM25. Every term is quoted, so
    no query can inject FTS5 syntax.

    Args:
        query: the user's query, e.g. ``"Selene-3" water ice``.

    Returns:
        The expression; empty when the query has no searchable word.
    """
    parsed = parse(query)
    required = " AND ".join('"' + " ".join(p) + '"' for p in parsed.phrases)
    optional = " OR ".join('"' + " ".join(t) + '"' for t in parsed.terms)
    if required and optional:
        return f"{required} AND ({required} OR {optional})"
    return required or optional


def search(conn: Connection, query: str, k: int, filters: dict[str, list[str] | None]) -> list[tuple[int, float]]:
    """BM25 keyword search over chunks, filtered inside SQL.

    Args:
        conn: a SQLite connection.
        query: the user's query (see ``match_expression``).
        k: most results.
        filters: SQL column (``col.name``, ``c.language``, ``d.mime``) → allowed values, or None for no filter.

    Returns:
        (chunk id, score) pairs, best first; the score is BM25 negated, so higher is better.
    """
    expression = match_expression(query)
    if not expression:
        return []
    where, params = filter_clauses(filters)
    where, params = ["chunks_fts MATCH :q", *where], params | {"q": expression, "k": k}
    sql = ("SELECT chunks_fts.rowid, bm25(chunks_fts) AS rank FROM chunks_fts "
           "JOIN chunks c ON c.id = chunks_fts.rowid JOIN documents d ON d.id = c.document_id "
           f"JOIN collections col ON col.id = d.collection_id WHERE {' AND '.join(where)} ORDER BY rank LIMIT :k")
    return [(int(i), -float(r)) for i, r in conn.execute(text(sql), params)]

