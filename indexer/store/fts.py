"""Keyword index over chunks in SQLite: FTS5 over the segmented text (see ``keywords``), ranked by BM25."""

from __future__ import annotations

import unicodedata

from sqlalchemy import Connection, text

from indexer.store.keywords import filter_clauses, fold, parse, segment

#: Share of the chunks above which a query word is too common to rank by (left out of the keyword query).
COMMON_SHARE = 0.01
#: ... and than this many chunks: in a small collection every word is searched.
COMMON_MIN = 1000
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


def match_expression(query: str, common: set[tuple[str, ...]] = frozenset()) -> str:
    """Turn a user query into an FTS5 MATCH expression.

    Quoted phrases must all match; the other words are alternatives ranked by BM25. Every term is quoted, so
    no query can inject FTS5 syntax.

    Args:
        query: the user's query, e.g. ``"Selene-3" water ice``.
        common: terms to leave out of the alternatives (see ``_common_terms``).

    Returns:
        The expression; empty when the query has no searchable word.
    """
    parsed = parse(query)
    required = " AND ".join('"' + " ".join(p) + '"' for p in parsed.phrases)
    optional = " OR ".join('"' + " ".join(t) + '"' for t in parsed.terms if t not in common)
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
    expression = match_expression(query, common=_common_terms(conn, parse(query).terms))
    if not expression:
        return []
    where, params = filter_clauses(filters)
    # Without filters the joins only cost time: every indexed row is a chunk.
    joins = ("JOIN chunks c ON c.id = chunks_fts.rowid JOIN documents d ON d.id = c.document_id "
             "JOIN collections col ON col.id = d.collection_id ") if where else ""
    where, params = ["chunks_fts MATCH :q", *where], params | {"q": expression, "k": k}
    sql = (f"SELECT chunks_fts.rowid, bm25(chunks_fts) AS rank FROM chunks_fts {joins}"
           f"WHERE {' AND '.join(where)} ORDER BY rank LIMIT :k")
    return [(int(i), -float(r)) for i, r in conn.execute(text(sql), params)]


def _common_terms(conn: Connection, terms: tuple[tuple[str, ...], ...]) -> set[tuple[str, ...]]:
    """The query terms with a word found in more than ``COMMON_SHARE`` of the chunks (and ``COMMON_MIN``).

    BM25 gives such words little weight, yet ranking every passage that has one ("the", "der", a Thai letter)
    is most of a keyword search's time in a large collection: they are left out, like stop words, in any
    language. A query of common words only has no keyword part (phrases in quotes still must match); the dense
    ranking answers it alone.
    """
    if not terms:
        return set()
    # The largest chunk id stands for the chunk count (a count(*) would scan; deletes only make it larger).
    total = conn.execute(text("SELECT max(rowid) FROM chunks")).scalar() or 0
    limit = max(COMMON_MIN, COMMON_SHARE * total)
    pieces = {w: _fts_tokens(w) for term in terms for w in term}
    # Each token's chunks are counted only up to the limit: an exact count (fts5vocab) reads a frequent
    # token's whole doclist, which took most of the time of a Thai or Chinese query.
    count = text("SELECT count(*) FROM (SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH :q LIMIT :n)")
    tokens = {t for parts in pieces.values() for t in parts}
    docs = {t: int(conn.execute(count, {"q": '"' + t.replace('"', '""') + '"', "n": int(limit) + 1}).scalar())
            for t in tokens}
    # A token the index never holds makes the term match nothing (cheap); otherwise the term costs what its
    # rarest token costs.
    return {term for term in terms if min((docs[t] for w in term for t in pieces[w] if docs[t]), default=0) > limit}


def _fts_tokens(word: str) -> list[str]:
    # FTS5's unicode61 tokens of a word: letters, digits and private-use characters, folded; everything else
    # (combining vowel signs of Devanagari or Thai, too) separates tokens.
    out, current = [], []
    for ch in unicodedata.normalize("NFC", fold(word)):
        category = unicodedata.category(ch)
        if category[0] in "LN" or category == "Co":
            current.append(ch)
        elif current:
            out.append("".join(current))
            current = []
    return out + (["".join(current)] if current else [])
