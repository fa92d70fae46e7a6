"""Babel Search indexer: loaders, chunking, embedding, storage and vector index."""

from __future__ import annotations

import os

# OpenMP threads (FAISS, torch) spin after each parallel region by default, holding the cores against the BLAS
# threads of the numpy steps between two searches: with as many threads as cores, a balanced search ran much
# slower (docs/scaling.md, Threads). Waiting passively costs the models nothing measurable. It must be set
# before the OpenMP runtime starts, so here, on the first import; a value the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
