"""Evidence files on disk: an upload is streamed to a temporary file beside the store and
enters the content-addressed store only once its submission is accepted, so a refused
request leaves nothing behind. Temporary files a crash left are removed at start."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from pathlib import Path
from typing import Protocol

from services.evidence.domain.evidence_files import HEAD_BYTES
from services.kernel.blob_store import BlobStore

CHUNK = 64 * 1024
STALE_AFTER_SECONDS = 3600


class Readable(Protocol):
    async def read(self, size: int = -1) -> bytes: ...


class StagedFile:
    """An upload waiting for its submission's verdict."""

    def __init__(self, store: EvidenceFiles, path: Path) -> None:
        self._store = store
        self.path = path
        self.sha256 = ""
        self.size = 0
        self.head = b""
        self.too_large = False

    def keep(self) -> None:
        """Move it into the store: called once the submission is accepted."""
        self._store.adopt(self.path, self.sha256)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


class EvidenceFiles(BlobStore):
    @property
    def incoming(self) -> Path:
        return self.root / ".incoming"

    async def stage(self, upload: Readable, max_bytes: int) -> StagedFile:
        """Stream the upload to a temporary file, at most `max_bytes` of it: beyond that the
        file is refused anyway, so what follows is not kept."""
        self.incoming.mkdir(parents=True, exist_ok=True)
        staged = StagedFile(self, self.incoming / f"{uuid.uuid4()}.part")
        digest = hashlib.sha256()
        with staged.path.open("wb") as out:
            while chunk := await upload.read(CHUNK):
                if staged.size + len(chunk) > max_bytes:
                    staged.too_large = True
                    staged.size = max_bytes + 1
                    break
                if len(staged.head) < HEAD_BYTES:
                    staged.head += chunk[: HEAD_BYTES - len(staged.head)]
                digest.update(chunk)
                out.write(chunk)
                staged.size += len(chunk)
        staged.sha256 = digest.hexdigest()
        return staged

    def adopt(self, path: Path, sha256: str) -> None:
        target = self._path(sha256)
        if not path.exists():
            return  # kept already (a retried unit of work)
        if target.exists():
            path.unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        with path.open("rb") as written:
            os.fsync(written.fileno())
        # A rename within one file system: a reader never sees half a file.
        path.replace(target)

    def remove_stale_uploads(self, older_than: float = STALE_AFTER_SECONDS) -> int:
        """Remove temporary uploads a crash left behind (none is older than a request)."""
        if not self.incoming.exists():
            return 0
        removed = 0
        cutoff = time.time() - older_than
        for leftover in self.incoming.glob("*.part"):
            try:
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed
