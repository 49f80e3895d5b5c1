"""QR codes: a printed code in the shop that leads to the review form.

Made with `segno <https://segno.readthedocs.io/>`_, as SVG or PNG.
"""

from __future__ import annotations

import os
from pathlib import Path

import segno

from reviewkit.errors import ValidationError

__all__ = ["write_qr"]

_FORMATS = {".svg": "svg", ".png": "png"}


def write_qr(
    url: str,
    output: str | os.PathLike[str],
    *,
    scale: int = 8,
    error: str = "m",
) -> Path:
    """Write a QR code for *url* to *output* (``.svg`` or ``.png``) and return the path.

    :param scale: size of one module in pixels (SVG units).
    :param error: error correction level, ``"l"``, ``"m"``, ``"q"`` or ``"h"`` (``h`` survives
        a logo printed over the middle).
    :raises ValidationError: for a URL that is not http(s), another file type, or a bad level.
    """
    path = Path(output)
    kind = _FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ValidationError(f"QR output {path.name!r}: use a .svg or .png file name")
    if not url.startswith(("https://", "http://")) or any(c.isspace() for c in url):
        raise ValidationError(f"QR URL {url!r} must be an http(s) URL without spaces")
    if error.lower() not in ("l", "m", "q", "h"):
        raise ValidationError(f"QR error correction {error!r}: use l, m, q or h")
    if scale < 1:
        raise ValidationError("QR scale must be at least 1")
    code = segno.make_qr(url, error=error.lower())
    code.save(str(path), kind=kind, scale=scale, border=4)
    return path
