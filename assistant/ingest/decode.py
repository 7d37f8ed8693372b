"""Bytes to clean text: BOMs, strict UTF-8, a fallback that keeps accents, binary sniffing."""

from __future__ import annotations

import codecs
import re

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# C0 controls except tab and newline, DEL, C1 controls, and stray BOMs / replacement-free junk.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff]")
_CONTROL_BYTES = bytes([*range(0, 9), *range(14, 27), *range(28, 32)])
_SNIFF = 8192
# Non-letter, non-ASCII characters that ordinary Western text contains.
_WESTERN_PUNCT = set("“”‘’‚„–—…€«»°£¥§¶·•†‡™©®½¼¾×÷¡¿ ¢¹²³µ‰‹›ˆ˜")


def bom_encoding(head: bytes) -> tuple[str, int] | None:
    """(codec, BOM length) when `head` starts with a Unicode byte-order mark."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name, len(bom)
    return None


def looks_binary(data: bytes) -> bool:
    """True for NUL bytes (the caller has ruled out UTF-16/32 BOMs) or many control bytes."""
    if b"\x00" in data:
        return True
    head = data[:_SNIFF]
    if not head:
        return False
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls / len(head) > 0.05


def _plausible_western(text: str) -> bool:
    """Accented letters sprinkled in mostly-ASCII words, not whole words of another script."""
    letters = [c for c in text if c.isalpha()]
    non_ascii = [c for c in text if ord(c) > 127]
    if not non_ascii:
        return True
    odd = sum(1 for c in non_ascii if not c.isalpha() and c not in _WESTERN_PUNCT)
    accented = sum(1 for c in letters if ord(c) > 127)
    return odd <= 0.2 * len(non_ascii) and accented <= 0.3 * max(len(letters), 1)


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 with a few bad bytes: decode with U+FFFD rather than turn every accent to mojibake."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for c in text if ord(c) > 127 and c != "\ufffd")
    return text if good and good >= bad else None


def _fallback(data: bytes) -> str:
    """cp1252 when it reads as Western text, else charset-normalizer's guess, else Latin-1."""
    try:
        western: str | None = data.decode("cp1252")
    except UnicodeDecodeError:
        western = None
    if western is not None and _plausible_western(western[:100_000]):
        return western
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    if best is not None and best.encoding:
        try:
            return data.decode(best.encoding)
        except (UnicodeDecodeError, LookupError):
            pass
    return western if western is not None else data.decode("latin-1")


def decode_bytes(data: bytes) -> str | None:
    """Decoded text (not yet cleaned), or None when the bytes look binary."""
    found = bom_encoding(data[:4])
    if found is not None:
        codec, size = found
        return data[size:].decode(codec, errors="replace")
    if looks_binary(data):
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return _mostly_utf8(data) or _fallback(data)


def clean_text(text: str) -> str:
    """Normalise newlines and drop control characters other than newline and tab."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)
