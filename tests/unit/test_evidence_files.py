"""Evidence files: typed by their bytes, named cleanly, downloadable under any name, staged
outside the store until accepted, and temporary files a crash left removed."""

from __future__ import annotations

import asyncio
import io
import os
import time
from pathlib import Path

from fastapi import Request, Response
from PIL import Image

from services.evidence.adapters.files import EvidenceFiles
from services.evidence.domain.evidence_files import (
    clean_filename,
    content_disposition,
    served_as,
    sniff,
)
from services.evidence.domain.limits import limits_said
from services.evidence.entrypoints.sessions import COOKIE, Sessions
from services.evidence.settings import EvidenceSettings


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="PNG")
    return out.getvalue()


def test_the_type_is_told_by_the_bytes_not_the_name():
    assert sniff(_png()).media_type == "image/png"  # type: ignore[union-attr]
    exe = sniff(b"MZ\x90\x00" + b"\x00" * 200)
    assert exe is not None and exe.media_type == "application/x-msdownload"
    assert sniff(b"%PDF-1.7\n").media_type == "application/pdf"  # type: ignore[union-attr]
    assert sniff(b"\x00\x01\x02\x03garbage") is None


def test_stored_names_are_normalised_and_end_as_their_type():
    assert clean_filename("../../etc/setup.exe", "png") == "setup.png"
    assert clean_filename("C:\\Users\\me\\photo.JPG", "jpg") == "photo.jpg"
    assert clean_filename("re\x00port\x1b.pdf", "pdf") == "report.pdf"
    decomposed = "otcho\u0308t.png"  # ö as o + combining diaeresis
    assert clean_filename(decomposed, "png") == "otch\u00f6t.png"
    assert clean_filename("", "png") == "evidence.png"


def test_a_download_header_holds_any_name():
    header = content_disposition("отчёт.png")
    header.encode("latin-1")  # what an HTTP header must be
    assert "filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.png" in header
    assert 'filename="evidence.png"' in header
    assert 'filename="Cafe.pdf"' in content_disposition("Café.pdf")


def test_only_images_pdf_and_plain_text_open_in_place():
    for shown in ("image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"):
        assert served_as(shown).inline and served_as(shown).content_type == shown
    assert served_as("text/plain").content_type == "text/plain; charset=utf-8"
    assert served_as("text/plain").inline
    for saved in (
        "application/zip",
        "application/x-msdownload",
        "text/html",
        "image/svg+xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "",
    ):
        assert not served_as(saved).inline
        assert served_as(saved).content_type == "application/octet-stream"
    assert content_disposition("photo.png", inline=True).startswith('inline; filename="photo.png"')
    assert content_disposition("photo.png").startswith("attachment;")


def test_limits_are_said_as_people_read_them():
    assert (
        limits_said(("image/png", "image/jpeg", "application/pdf"), 5 * 1024 * 1024)
        == "PNG, JPEG or PDF, up to 5 MB"
    )
    assert limits_said(("image/png",), 1000) == "PNG, up to 1000 bytes"


class _Upload:
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    async def read(self, size: int = -1) -> bytes:
        return self._data.read(size)


def test_an_upload_enters_the_store_only_when_kept(tmp_path: Path):
    files = EvidenceFiles(tmp_path)
    data = _png()
    staged = asyncio.run(files.stage(_Upload(data), max_bytes=10_000))
    stored = [p for p in tmp_path.rglob("*") if p.is_file() and ".incoming" not in p.parts]
    assert stored == [] and staged.size == len(data) and staged.head == data[: len(staged.head)]
    refused = asyncio.run(files.stage(_Upload(data), max_bytes=10_000))
    refused.discard()
    staged.keep()
    staged.discard()
    assert files.get(staged.sha256) == data
    assert list((tmp_path / ".incoming").iterdir()) == []


def test_an_upload_over_the_limit_is_not_kept_whole(tmp_path: Path):
    staged = asyncio.run(EvidenceFiles(tmp_path).stage(_Upload(b"x" * 300_000), max_bytes=1000))
    assert staged.too_large and staged.size == 1001
    assert staged.path.stat().st_size <= 1000


def test_temporary_files_a_crash_left_are_removed(tmp_path: Path):
    files = EvidenceFiles(tmp_path)
    files.incoming.mkdir(parents=True)
    old, fresh = files.incoming / "old.part", files.incoming / "fresh.part"
    old.write_bytes(b"half an upload")
    fresh.write_bytes(b"an upload under way")
    hours_ago = time.time() - 2 * 3600
    os.utime(old, (hours_ago, hours_ago))
    assert files.remove_stale_uploads() == 1
    assert not old.exists() and fresh.exists()


def _request(cookie: str) -> Request:
    return Request({"type": "http", "headers": [(b"cookie", f"{COOKIE}={cookie}".encode())]})


def _cookie(response: Response) -> str:
    header = response.headers["set-cookie"]
    return header.split(";")[0].split("=", 1)[1]


OLD = "last year-s session secret; long and random 01234"
NEW = "this year-s session secret; long and random ABCDE"


def test_sessions_survive_a_rotation_of_the_session_secret():
    before = Sessions([OLD], secure=False)
    cookie = _cookie(before.sign_in(Response(), "learner@example.org"))
    after = Sessions([NEW, OLD], secure=False)
    assert after.learner(_request(cookie)) == "learner@example.org"
    fresh = _cookie(after.sign_in(Response(), "learner@example.org"))
    assert Sessions([NEW], secure=False).learner(_request(fresh)) == "learner@example.org"
    assert before.learner(_request(fresh)) is None
    assert Sessions([NEW], secure=False).learner(_request(cookie)) is None


def test_the_session_cookie_is_secure_behind_https(monkeypatch):
    monkeypatch.setenv("EVIDENCE_SESSION_SECRET", NEW)
    monkeypatch.setenv("EVIDENCE_PUBLIC_URL", "https://evidence.example.org")
    monkeypatch.setenv("EVIDENCE_SESSION_PREVIOUS_SECRETS", OLD)
    settings = EvidenceSettings()
    assert settings.secure_cookies and settings.session_key_ring == (NEW, OLD)
    header = Sessions(settings.session_key_ring, secure=True).sign_in(Response(), "a@b.org")
    cookie = header.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    monkeypatch.setenv("EVIDENCE_PUBLIC_URL", "http://127.0.0.1:8003")
    assert not EvidenceSettings().secure_cookies
