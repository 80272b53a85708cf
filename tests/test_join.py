"""The join screen: the page's address as a QR code that decodes back to it (read by a real
decoder, zxing-cpp), and as short text, shown to the instructor only."""
from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from test_instructor_page import PASSWORD, instructor, keys, server, session  # noqa: F401 (fixture)
from ui.join import qr_png, short_address


@pytest.mark.parametrize("url", ["http://192.168.1.20:8501", "http://10.0.7.3:8600/",
                                 "https://digits.example-school.kr/class-3b"])
def test_the_qr_code_decodes_back_to_the_address(url):
    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr_png(url))))
    assert found.text == url


def test_the_qr_code_is_large_enough_for_a_projector():
    assert min(Image.open(io.BytesIO(qr_png("http://192.168.1.20:8501"))).size) >= 400


@pytest.mark.parametrize("url,short", [("http://192.168.1.20:8501", "192.168.1.20:8501"),
                                       ("http://192.168.1.20:8501/", "192.168.1.20:8501"),
                                       ("https://digits.example-school.kr/class-3b", "digits.example-school.kr/class-3b")])
def test_the_short_address_is_what_a_student_types(url, short):
    assert short_address(url) == short


def test_the_instructor_opens_the_join_screen_with_the_configured_address(monkeypatch):
    monkeypatch.setenv("DIGITS_INSTRUCTOR_PASSWORD", PASSWORD)
    monkeypatch.setenv("DIGITS_PUBLIC_URL", "https://digits.example-school.kr/class-3b")
    at = instructor()
    at.button(key="show_join").click().run()
    assert not at.exception
    assert any("digits.example-school.kr/class-3b" in m.value for m in at.markdown)
    assert "show_join" not in keys(session())        # a student has no such button
