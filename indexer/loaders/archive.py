"""Loader for archives (.zip, .tar, .tar.gz, .tgz): every member read in memory as a document of its own.

Members are named ``archive.zip/inner/path.pdf``; their names never become file system paths (nothing
is extracted to disk). Member count, total uncompressed size, compression ratio and nesting depth are
bounded before a member is inflated.
"""

from __future__ import annotations

import io
import logging
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from indexer.errors import LoaderError, UnsupportedFileTypeError
from indexer.loaders.limits import LoadLimits, check_zip
from indexer.types import LoadedDocument

logger = logging.getLogger(__name__)

ARCHIVE_EXTENSIONS = (".zip", ".tar", ".tar.gz", ".tgz")
#: Metadata key of the first document of an archive: the members skipped, as "name: reason" lines.
SKIPPED_KEY = "skipped_members"
_MB = 1024 * 1024
# Archives inflating to less than this are never refused for their ratio.
_RATIO_FLOOR = _MB
# Folders of metadata that archivers add beside the real files.
_NOISE = ("__MACOSX/", ".DS_Store", "Thumbs.db")

#: Loads one member: (bytes, display name, nesting depth) -> documents.
MemberLoader = Callable[[bytes, str, int], list[LoadedDocument]]


@dataclass
class Budget:
    """What is left to the members of one archive and of the archives nested in it."""

    members: int
    bytes: int


def load_archive(
    data: bytes, source_name: str, load_member: MemberLoader, limits: LoadLimits, depth: int = 0,
    budget: Budget | None = None,
) -> list[LoadedDocument]:  # fmt: skip
    """Load every supported member of an archive, recursively up to ``limits.max_archive_depth``.

    Args:
        data: the archive's bytes.
        source_name: display name of the archive (members are named after it).
        load_member: loads one member's bytes by its name's extension.
        limits: the bounds.
        depth: how many archives enclose this one.
        budget: members and bytes left, shared with the enclosing archives; the limits' when None.

    Returns:
        The members' documents; the first one lists the skipped members under ``SKIPPED_KEY``.

    Raises:
        LoaderError: if the archive is corrupt, passes a bound, or no member gives a document.
    """
    if depth > limits.max_archive_depth:
        raise LoaderError(source_name, f"archive nested deeper than {limits.max_archive_depth} (max_archive_depth)")
    budget = budget or Budget(limits.max_zip_members, limits.max_unzipped_mb * _MB)
    documents: list[LoadedDocument] = []
    skipped: list[str] = []
    for name, content in _members(data, source_name, limits, budget):
        member_name = f"{source_name}/{name}"
        try:
            documents += load_member(content, member_name, depth + 1)
        except UnsupportedFileTypeError:
            skipped.append(f"{name}: unsupported file type")
        except LoaderError as e:
            skipped.append(f"{name}: {e.reason}")
            # A nested archive's own skipped members are reported by it; only the reason is kept here.
            logger.info("%s: member skipped: %s", member_name, e.reason)
    if not documents:
        detail = "; ".join(skipped[:5]) if skipped else "it has no files"
        raise LoaderError(source_name, f"no readable member in the archive ({detail})")
    if skipped:
        documents[0].metadata[SKIPPED_KEY] = skipped
    return documents


def skipped_note(documents: list[LoadedDocument]) -> str:
    """The report note for an archive's skipped members ("" for none); removes them from the metadata.

    Args:
        documents: the documents of one file.

    Returns:
        How many members were skipped, naming the first few with their reasons.
    """
    skipped = documents[0].metadata.pop(SKIPPED_KEY, []) if documents else []
    if not skipped:
        return ""
    more = f"; and {len(skipped) - 3:,} more" if len(skipped) > 3 else ""
    return f"{len(skipped):,} archive member(s) skipped: " + "; ".join(skipped[:3]) + more


def is_archive(extension: str) -> bool:
    """Whether an extension (as ``file_extension`` gives it) names an archive."""
    return extension in ARCHIVE_EXTENSIONS


def _members(data: bytes, source_name: str, limits: LoadLimits, budget: Budget) -> Iterator[tuple[str, bytes]]:
    # By name, not by content: a tar holding a .docx ends with that zip's directory, so it "is" a zip too.
    if source_name.lower().endswith(".zip"):
        yield from _zip_members(data, source_name, limits, budget)
    else:
        yield from _tar_members(data, source_name, limits, budget)


def _zip_members(data: bytes, source_name: str, limits: LoadLimits, budget: Budget) -> Iterator[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as e:
        raise LoaderError(source_name, f"not a valid zip archive ({type(e).__name__}: {e})") from e
    # Every member's declared size is checked before any is inflated (zipfile never inflates past it).
    check_zip(archive, source_name, _within(limits, budget), "zip archive")
    members = [m for m in archive.infolist() if not m.is_dir() and not _is_noise(m.filename)]
    _spend(budget, len(members), sum(m.file_size for m in members), source_name)
    for member in members:
        try:
            content = archive.read(member)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, ValueError, EOFError) as e:
            # Encrypted, corrupt or an unknown compression: this member only.
            logger.info("%s/%s: member unreadable (%s)", source_name, member.filename, e)
            continue
        yield member.filename, content


def _tar_members(data: bytes, source_name: str, limits: LoadLimits, budget: Budget) -> Iterator[tuple[str, bytes]]:
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
        members = _tar_index(archive, source_name, limits, budget, len(data))
    except (tarfile.TarError, OSError, EOFError, ValueError) as e:
        raise LoaderError(source_name, f"not a valid tar archive ({type(e).__name__}: {e})") from e
    for member in members:
        try:
            handle = archive.extractfile(member)
            content = handle.read() if handle is not None else None
        except (tarfile.TarError, OSError, EOFError, ValueError) as e:
            logger.info("%s/%s: member unreadable (%s)", source_name, member.name, e)
            continue
        if content is not None:
            yield member.name, content


def _tar_index(archive: tarfile.TarFile, source_name: str, limits: LoadLimits, budget: Budget, packed: int) -> list:
    # Headers are read one by one, so a stream that would inflate without end is stopped at the bounds.
    members, total = [], 0
    while (member := archive.next()) is not None:
        if not member.isfile() or _is_noise(member.name):
            # Links, devices and folders are never followed nor created.
            continue
        members.append(member)
        total += member.size
        _spend(budget, 1, member.size, source_name)
        if total > _RATIO_FLOOR and total > packed * limits.max_zip_ratio:
            raise LoaderError(source_name, f"decompression bomb? the tar archive inflates over "
                                           f"{limits.max_zip_ratio} times (max_zip_ratio)")  # fmt: skip
    return members


def _spend(budget: Budget, members: int, size: int, source_name: str) -> None:
    budget.members -= members
    budget.bytes -= size
    if budget.members < 0:
        raise LoaderError(source_name, "the archive has too many members (max_zip_members, nested archives included)")
    if budget.bytes < 0:
        raise LoaderError(source_name, "decompression bomb? the archive inflates past max_unzipped_mb "
                                       "(nested archives included)")  # fmt: skip


def _within(limits: LoadLimits, budget: Budget) -> LoadLimits:
    # The zip check applies what is left of the budget, so nested archives share one allowance.
    return replace(limits, max_zip_members=max(budget.members, 0), max_unzipped_mb=max(budget.bytes // _MB, 0))


def _is_noise(name: str) -> bool:
    path = PurePosixPath(name)
    return name.startswith(_NOISE[0]) or path.name in _NOISE[1:] or path.name.startswith("._")
