"""OpenMP threads wait passively unless the user chose otherwise: set on the first import, before FAISS loads."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = (
    "import os, indexer, faiss; "
    "print(os.environ['OMP_WAIT_POLICY'], faiss.omp_get_max_threads() >= 1)"
)


@pytest.mark.parametrize(("given", "expected"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_importing_the_indexer_makes_openmp_wait_passively(given: str | None, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given is not None:
        env["OMP_WAIT_POLICY"] = given
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True,
                         timeout=60)
    assert out.stdout.split() == [expected, "True"]
