"""Keyword index over chunks in PostgreSQL: a ``tsvector`` per chunk with a GIN index.

The words come from ``keywords`` (the same tokens, CJK/Thai segmentation and phrases as the SQLite index) and
are written as ``tsvector`` / ``tsquery`` literals, so PostgreSQL's own parser and locale play no part: every
server finds the same passages. Ranking is ``ts_rank`` normalised by length (PostgreSQL has no BM25).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from indexer.store.keywords import KeywordQuery, filter_clauses, fold, parse, tokens

CREATE = ("CREATE TABLE IF NOT EXISTS chunk_terms (chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) "
          "ON DELETE CASCADE, terms tsvector NOT NULL)",
          "CREATE INDEX IF NOT EXISTS ix_chunk_terms ON chunk_terms USING GIN (terms)")
#: Highest position PostgreSQL stores in a tsvector, and most positions it keeps per word.
MAX_POSITION, MAX_POSITIONS_PER_WORD = 16383, 256


def _lexeme(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector(value: str) -> str:
    """The ``tsvector`` literal of a text: its folded words with their positions (phrases need them)."""
    positions: dict[str, list[int]] = {}
    for n, word in enumerate(tokens(value)):
        positions.setdefault(fold(word), []).append(min(n + 1, MAX_POSITION))
    return " ".join(f"{_lexeme(w)}:{','.join(map(str, p[:MAX_POSITIONS_PER_WORD]))}" for w, p in positions.items())


def tsquery(parsed: KeywordQuery) -> tuple[str, str]:
    """``tsquery`` literals for a parsed query: (what must match, what ranks).

    Quoted phrases must all match; without any, one of the terms must. Ranking counts phrases and terms.
    """
    def seq(words: tuple[str, ...]) -> str:
        return "(" + " <-> ".join(_lexeme(fold(w)) for w in words) + ")"

    required = " & ".join(seq(p) for p in parsed.phrases)
    optional = " | ".join(seq(t) for t in parsed.phrases + parsed.terms)
    return required or optional, optional


def create(conn: Connection) -> None:
    """Create the table and its index, and fill it from existing chunks when it is new.

    Args:
        conn: a PostgreSQL connection inside a transaction.
    """
    exists = conn.execute(text("SELECT to_regclass('chunk_terms')")).scalar() is not None
    for statement in CREATE:
        conn.execute(text(statement))
    if not exists:
        rows = conn.execute(text("SELECT id, text FROM chunks")).all()
        insert(conn, [(r[0], r[1]) for r in rows])


def insert(conn: Connection, rows: list[tuple[int, str]]) -> None:
    """Index chunk texts under their chunk ids."""
    if rows:
        conn.execute(text("INSERT INTO chunk_terms (chunk_id, terms) VALUES (:id, CAST(:terms AS tsvector))"),
                     [{"id": i, "terms": tsvector(t)} for i, t in rows])


def delete(conn: Connection, ids: list[int]) -> None:
    """Remove chunks from the keyword index (the foreign key cascades too; this keeps both indexes alike)."""
    for start in range(0, len(ids), 900):
        conn.execute(text("DELETE FROM chunk_terms WHERE chunk_id = ANY(:ids)"), {"ids": ids[start:start + 900]})


def search(conn: Connection, query: str, k: int, filters: dict[str, list[str] | None]) -> list[tuple[int, float]]:
    """Full-text search over chunks, filtered inside SQL.

    Args:
        conn: a PostgreSQL connection.
        query: the user's query (see ``keywords.parse``).
        k: most results.
        filters: SQL column (``col.name``, ``c.language``, ``d.mime``) → allowed values, or None for no filter.

    Returns:
        (chunk id, score) pairs, best first; higher scores are better.
    """
    match, rank = tsquery(parse(query))
    if not match:
        return []
    where, params = filter_clauses(filters)
    where = ["t.terms @@ CAST(:match AS tsquery)", *where]
    params |= {"match": match, "rank": rank, "k": k}
    sql = ("SELECT t.chunk_id, ts_rank(t.terms, CAST(:rank AS tsquery), 1) AS score FROM chunk_terms t "
           "JOIN chunks c ON c.id = t.chunk_id JOIN documents d ON d.id = c.document_id "
           f"JOIN collections col ON col.id = d.collection_id WHERE {' AND '.join(where)} "
           "ORDER BY score DESC, t.chunk_id LIMIT :k")
    return [(int(i), float(s)) for i, s in conn.execute(text(sql), params)]
