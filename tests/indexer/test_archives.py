"""Archives (.zip, .tar, .tar.gz, .tgz): members as documents named after the archive, within bounds, never on disk."""

from __future__ import annotations

import io
import os
import re
import tarfile
import zipfile
from pathlib import Path

import docx
import pytest

from indexer.errors import LoaderError
from indexer.loaders import file_extension, iter_files, load_file
from indexer.loaders.archive import SKIPPED_KEY
from indexer.loaders.isolate import LoaderWorker

MB = 1024 * 1024
DE = "Die Größe der Straße überrascht viele Besucher. Außerdem gibt es schöne Cafés."
RU = "Вчера вечером мы долго гуляли по набережной и обсуждали планы на лето."


def docx_bytes(text: str) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


MEMBERS = {
    "inner/a.txt": DE.encode(),
    "inner/deeper/b.md": f"# Titel\n\n{RU}".encode(),
    "c.docx": docx_bytes("Quarterly sales grew in the north."),
    "tool.exe": b"MZ",
    "__MACOSX/inner/._a.txt": b"\x00\x05\x16\x07 resource fork",
}
NAMES = ["inner/a.txt", "inner/deeper/b.md", "c.docx"]


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_bytes(members: dict[str, bytes], mode: str = "w:gz", extra: list[tarfile.TarInfo] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for info in extra or []:
            archive.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class Zeros(io.RawIOBase):
    """``size`` zero bytes, read on demand: a bomb member without holding it in memory."""

    def __init__(self, size: int):
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = b"\x00" * n
        self.left -= n
        return n


def tar_bomb(size: int) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("zeros.txt")
        info.size = size
        archive.addfile(info, io.BufferedReader(Zeros(size)))
    return buffer.getvalue()


def zip_bomb(size_mb: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("zeros.txt", "w", force_zip64=True) as member:
            for _ in range(size_mb):
                member.write(b"\x00" * MB)
    return buffer.getvalue()


def nested(levels: int) -> bytes:
    data = zip_bytes({"deep.txt": RU.encode()})
    for level in range(levels, 0, -1):
        data = zip_bytes({f"l{level}.zip": data})
    return data


def special_members() -> list[tarfile.TarInfo]:
    link = tarfile.TarInfo("link.txt")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    device = tarfile.TarInfo("dev.txt")
    device.type = tarfile.CHRTYPE
    folder = tarfile.TarInfo("folder.txt")
    folder.type = tarfile.DIRTYPE
    return [link, device, folder]


SKIPPED_EXE = "1 archive member(s) skipped: tool.exe: unsupported file type"


@pytest.mark.parametrize(
    ("name", "make", "names", "skipped"),
    [
        ("a.zip", lambda: zip_bytes(MEMBERS), NAMES, ["tool.exe: unsupported file type"]),
        ("a.tar", lambda: tar_bytes(MEMBERS, "w"), NAMES, ["tool.exe: unsupported file type"]),
        ("a.tar.gz", lambda: tar_bytes(MEMBERS), NAMES, ["tool.exe: unsupported file type"]),
        ("a.TGZ", lambda: tar_bytes(MEMBERS, "w:gz", special_members()), NAMES, ["tool.exe: unsupported file type"]),
        ("zip-in-tgz.tgz", lambda: tar_bytes({"in/x.zip": zip_bytes({"y.txt": DE.encode()})}), ["in/x.zip/y.txt"], []),
        # Names that would escape a folder if extracted are only names here.
        (
            "evil.zip",
            lambda: zip_bytes({"../../evil.txt": DE.encode(), "/etc/abs.txt": RU.encode()}),
            ["../../evil.txt", "/etc/abs.txt"],
            [],
        ),  # fmt: skip
        ("evil.tar", lambda: tar_bytes({"../../evil.txt": DE.encode()}, "w"), ["../../evil.txt"], []),
        (
            "deep.zip",
            lambda: zip_bytes({"good.txt": DE.encode(), "l0.zip": nested(3)}),
            ["good.txt"],
            [
                "l0.zip: no readable member in the archive (l1.zip: no readable member in the archive (l2.zip: no "
                "readable member in the archive (l3.zip: archive nested deeper than 3 (max_archive_depth))))"
            ],
        ),  # fmt: skip
        (
            "some-bad.zip",
            lambda: zip_bytes({"empty.txt": b"", "good.txt": DE.encode(), "bad.pdf": b"%PDF-no"}),
            ["good.txt"],
            [
                "empty.txt: empty: no text",
                "bad.pdf: corrupt or unreadable PDF (PdfStreamError: Stream has ended unexpectedly)",
            ],
        ),  # fmt: skip
    ],
)
def test_members_become_documents_named_after_the_archive(
    tmp_path: Path, name: str, make, names: list[str], skipped: list[str]
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / name).write_bytes(make())
    before = sorted(tmp_path.rglob("*"))
    documents = load_file(folder / name)
    assert [d.source_name for d in documents] == [f"{name}/{member}" for member in names]
    assert all(d.text and d.title for d in documents)
    assert documents[0].metadata.get(SKIPPED_KEY, []) == skipped
    # Nothing was extracted anywhere: not beside the archive, not where the member names point.
    assert sorted(tmp_path.rglob("*")) == before
    assert not (tmp_path / "evil.txt").exists()


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        (
            "bomb.zip",
            lambda: zip_bomb(300),
            r"decompression bomb\? zip archive inflates to 300\.0 MB \(314,572,800 "
            r"bytes\), over the limit of 256 MB \(max_unzipped_mb\)",
        ),  # fmt: skip
        (
            "ratio.zip",
            lambda: zip_bomb(20),
            r"decompression bomb\? member 'zeros\.txt' of the zip archive inflates "
            r"[\d,]+ times, over the limit of 100 \(max_zip_ratio\)",
        ),  # fmt: skip
        (
            "many.zip",
            lambda: zip_bytes({f"{n}.txt": b"x" for n in range(10_001)}),
            r"zip archive has 10,001 members, over the limit of 10,000 \(max_zip_members\)",
        ),
        (
            "bomb.tar.gz",
            lambda: tar_bomb(300 * MB),
            r"decompression bomb\? the archive inflates past max_unzipped_mb "
            r"\(nested archives included\)",
        ),  # fmt: skip
        (
            "ratio.tgz",
            lambda: tar_bomb(20 * MB),
            r"decompression bomb\? the tar archive inflates over 100 times "
            r"\(max_zip_ratio\)",
        ),  # fmt: skip
        (
            "many.tar",
            lambda: tar_bytes({f"{n}.txt": b"x" for n in range(10_001)}, "w"),
            r"the archive has too many members \(max_zip_members, nested archives included\)",
        ),
        ("random.zip", lambda: os.urandom(3000), r"not a valid zip archive \(BadZipFile: File is not a zip file\)"),
        ("cut.tar.gz", lambda: tar_bytes(MEMBERS)[:500], r"not a valid tar archive \(.+\)"),
        ("empty.zip", lambda: zip_bytes({}), r"no readable member in the archive \(it has no files\)"),
        (
            "only-bad.tar",
            lambda: tar_bytes({"a.txt": b"\x00\x00", "b.exe": b"MZ"}, "w"),
            r"no readable member in the archive \(a\.txt: empty: no text; b\.exe: unsupported file type\)",
        ),
        (
            "nested.zip",
            lambda: nested(4),
            r"no readable member in the archive \(l1\.zip: no readable member in the archive \(l2\.zip: no "
            r"readable member in the archive \(l3\.zip: no readable member in the archive \(l4\.zip: archive "
            r"nested deeper than 3 \(max_archive_depth\)\)\)\)\)",
        ),  # fmt: skip
    ],
)
def test_broken_and_hostile_archives_fail_with_their_reason(tmp_path: Path, name: str, make, reason: str) -> None:
    (tmp_path / name).write_bytes(make())
    with pytest.raises(LoaderError) as caught:
        load_file(tmp_path / name)
    assert re.fullmatch(reason, caught.value.reason), caught.value.reason
    assert caught.value.source_name == name


def test_worker_reports_skipped_members_and_walk_finds_archives(tmp_path: Path) -> None:
    (tmp_path / "a.tar.gz").write_bytes(tar_bytes(MEMBERS))
    (tmp_path / "b.gz").write_bytes(b"not supported")
    assert [p.name for p in iter_files([tmp_path])] == ["a.tar.gz"]
    assert file_extension(tmp_path / "x", "Photos.Tar.Gz") == ".tar.gz"
    with LoaderWorker() as worker:
        documents, note = worker.load(tmp_path / "a.tar.gz", "a.tar.gz")
    assert [d.source_name for d in documents] == [f"a.tar.gz/{n}" for n in NAMES]
    assert note == SKIPPED_EXE
    assert SKIPPED_KEY not in documents[0].metadata


def test_ingest_stores_members_as_documents(tmp_path: Path, tiny_settings, tiny_embedder) -> None:
    from indexer.pipeline import Indexer

    (tmp_path / "a.zip").write_bytes(zip_bytes(MEMBERS))
    indexer = Indexer(tiny_settings, tiny_embedder)
    try:
        report = indexer.ingest([tmp_path / "a.zip"], "archives")
        stored = sorted(d.source_name for d in indexer.store.documents("archives"))
    finally:
        indexer.close()
    [result] = report.files
    assert (result.status, result.documents, result.message) == ("added", 3, SKIPPED_EXE)
    assert stored == sorted(f"a.zip/{n}" for n in NAMES)
