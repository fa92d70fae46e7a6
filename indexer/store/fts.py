"""Keyword index over chunks: SQLite FTS5 with scripts that have no spaces split into characters."""

from __future__ import annotations

import re

from sqlalchemy import Connection, text

#: Scripts written without spaces between words: Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar.
_NO_SPACE = re.compile(r"([\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
                       r"\uf900-\ufaff\uff66-\uff9f])")
_PHRASE = re.compile(r'"([^"]+)"')
_TERM = re.compile(r"\w+", re.UNICODE)

CREATE = ("CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(text, "
          "tokenize='unicode61 remove_diacritics 2')")


def segment(value: str) -> str:
    """Put spaces around each character of a script without word spaces.

    With every such character a token, a phrase query of consecutive characters finds a CJK or Thai
    word wherever it stands, which the default tokenizer (one token per run of letters) cannot.

    Args:
        value: any text.

    Returns:
        The text to index or to search with.
    """
    return _NO_SPACE.sub(r" \1 ", value)


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


def match_expression(query: str) -> tuple[str, bool]:
    """Turn a user query into an FTS5 MATCH expression.

    Quoted phrases must all match; the other words are alternatives ranked by BM25.

    Args:
        query: the user's query, e.g. ``"Selene-3" water ice``.

    Returns:
        (expression, has_phrases); the expression is empty when the query has no searchable word.
    """
    phrases = [" ".join(_TERM.findall(segment(p))) for p in _PHRASE.findall(query)]
    phrases = [f'"{p}"' for p in phrases if p]
    rest = _PHRASE.sub(" ", query)
    terms = []
    for word in _TERM.findall(rest):
        tokens = _TERM.findall(segment(word))
        if len(tokens) > 2 and _NO_SPACE.search(word):
            # A run of CJK or Thai has no word boundaries: match its character bigrams, any of them.
            terms += ['"' + " ".join(tokens[i:i + 2]) + '"' for i in range(len(tokens) - 1)]
        else:
            terms.append('"' + " ".join(tokens) + '"')
    terms = list(dict.fromkeys(terms))
    required = " AND ".join(phrases)
    optional = " OR ".join(terms)
    if required and optional:
        return f"{required} AND ({required} OR {optional})", True
    return required or optional, bool(required)


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
    expression, _ = match_expression(query)
    if not expression:
        return []
    where, params = ["chunks_fts MATCH :q"], {"q": expression, "k": k}
    for n, (column, values) in enumerate(filters.items()):
        if values is not None:
            keys = [f"f{n}_{i}" for i in range(len(values))]
            where.append(f"{column} IN ({', '.join(':' + key for key in keys)})" if keys else "0")
            params.update(zip(keys, values))
    sql = ("SELECT chunks_fts.rowid, bm25(chunks_fts) AS rank FROM chunks_fts "
           "JOIN chunks c ON c.id = chunks_fts.rowid JOIN documents d ON d.id = c.document_id "
           f"JOIN collections col ON col.id = d.collection_id WHERE {' AND '.join(where)} ORDER BY rank LIMIT :k")
    return [(int(i), -float(r)) for i, r in conn.execute(text(sql), params)]
