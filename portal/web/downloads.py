"""A backup archive as an HTTP download: streamed from storage chunk by chunk (a thread
reads the next while one is sent), so a large archive never sits in memory."""

from __future__ import annotations

from litestar.response import Stream

from provisioner import BackupDownload


def archive_download(download: BackupDownload, media_type: str | None = None) -> Stream:
    """``media_type``: one for both kinds (the API documents a single one)."""
    media = media_type or (
        "application/gzip" if download.backup.compressed else "application/x-tar"
    )
    return Stream(
        download.chunks,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{download.filename}"',
            "Content-Length": str(download.size),
            "X-Content-SHA256": download.backup.sha256 or "",
        },
    )
