"""The spool: uploaded files copied under <data dir>/spool/<job id>/ with generated names."""

from __future__ import annotations

import shutil
from pathlib import Path, PurePath
from typing import BinaryIO

from indexer.loaders import SUPPORTED_EXTENSIONS

COPY_CHUNK = 1024 * 1024


def spool_name(number: int, display_name: str) -> str:
    """The file name a job file gets in the spool: its number and, if known, its type's extension.

    Only a supported extension is taken from the original name; the rest of it never becomes a path.

    Args:
        number: the file's position in the job.
        display_name: the original file name.

    Returns:
        e.g. "00007.pdf".
    """
    suffix = PurePath(display_name).suffix.lower()
    return f"{number:05d}{suffix if suffix in SUPPORTED_EXTENSIONS else ''}"


class Spool:
    """Folders of job files under one root.

    Args:
        root: the spool folder, e.g. ``<data dir>/spool``.
    """

    def __init__(self, root: Path):
        self.root = root

    def folder(self, job_id: int) -> Path:
        """The folder of one job's files."""
        return self.root / str(int(job_id))

    def write(self, job_id: int, number: int, display_name: str, source: BinaryIO) -> tuple[str, int]:
        """Stream one file into the job's folder, a megabyte at a time.

        Returns:
            (spool name, size in bytes).
        """
        folder = self.folder(job_id)
        folder.mkdir(parents=True, exist_ok=True)
        name = spool_name(number, display_name)
        with (folder / name).open("wb") as out:
            shutil.copyfileobj(source, out, COPY_CHUNK)
        return name, (folder / name).stat().st_size

    def copy(self, job_id: int, number: int, path: Path) -> tuple[str, int]:
        """Copy a local file into the job's folder (the original may change or go meanwhile).

        Returns:
            (spool name, size in bytes).
        """
        with Path(path).open("rb") as source:
            return self.write(job_id, number, Path(path).name, source)

    def remove(self, job_id: int) -> None:
        """Delete a job's files once they are no longer needed."""
        shutil.rmtree(self.folder(job_id), ignore_errors=True)
