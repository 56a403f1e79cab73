"""What an uploaded file is, from its first bytes — never from its name or the type the browser declares.

One reader for every upload of the platform (ledger evidence, inspection photos, asset photos and
documents, contract scans); each caller keeps its own list of what it accepts."""

from __future__ import annotations

#: The kinds recognised: content type → the name shown to people.
KNOWN_TYPES = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WebP",
    "image/heic": "HEIC",
}


def sniff(head: bytes) -> str | None:
    """The content type of a file from its first 16 bytes, or None if it is not a PDF or a photo."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heif"):
        return "image/heic"
    return None
