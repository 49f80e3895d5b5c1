"""QR codes: what is written decodes back to the URL, as SVG and as PNG."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

import reviewkit as rk
from reviewkit.adapters.qr import write_qr

URL = "https://shop.example/opinia?t=MXxrMjAyNnxhfGQxfDE3NzI3ODQwMDA.nLIUnMLlmKuwdfeovKYpJ741O"


def test_png_decodes_to_the_url(tmp_path: Path) -> None:
    """A PNG QR code read by a decoder gives back the exact URL."""
    path = write_qr(URL, tmp_path / "code.png")
    (found,) = zxingcpp.read_barcodes(Image.open(path))
    assert found.text == URL


def test_svg_from_the_cli_is_the_decodable_code(tmp_path: Path) -> None:
    """`reviewkit qr URL --output F.svg` writes the same code as a PNG that decodes to the URL."""
    result = subprocess.run(
        [sys.executable, "-m", "reviewkit", "qr", URL, "--output", "code.svg", "--error", "h"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    svg = (tmp_path / "code.svg").read_bytes()
    assert b"<svg" in svg
    # Same URL and settings through the library: the SVG is identical, and its PNG twin decodes.
    assert write_qr(URL, tmp_path / "ref.svg", error="h").read_bytes() == svg
    png = write_qr(URL, tmp_path / "ref.png", error="h")
    assert zxingcpp.read_barcodes(Image.open(png))[0].text == URL


@pytest.mark.parametrize(
    ("url", "output", "message"),
    [
        ("ftp://x", "a.png", "http"),
        ("https://a b", "a.png", "without spaces"),
        ("https://x", "a.gif", ".svg or .png"),
    ],
)
def test_bad_qr_requests_are_refused(tmp_path: Path, url: str, output: str, message: str) -> None:
    """A non-http URL, a URL with spaces or an unknown file type is refused."""
    with pytest.raises(rk.ValidationError, match=message):
        write_qr(url, tmp_path / output)
