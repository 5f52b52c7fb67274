import pytest

from providers.segments import count_segments


@pytest.mark.parametrize(
    ("body", "encoding", "segments"),
    [
        ("a" * 160, "gsm7", 1),
        ("a" * 161, "gsm7", 2),
        ("a" * 306, "gsm7", 2),
        ("a" * 307, "gsm7", 3),
        ("€" * 80, "gsm7", 1),  # extension characters take two septets
        ("€" * 81, "gsm7", 2),
        ("{}" * 40 + "a", "gsm7", 2),
        ("ç" * 70, "ucs2", 1),  # ç is not in GSM-7 (only Ç is)
        ("Olá, João" + "a" * 61, "ucs2", 1),
        ("я" * 71, "ucs2", 2),
        ("я" * 134, "ucs2", 2),
        ("я" * 135, "ucs2", 3),
        ("😀" * 35, "ucs2", 1),  # emoji take two UTF-16 units
        ("😀" * 36, "ucs2", 2),
    ],
)
def test_it_counts_encoding_and_segments(body, encoding, segments):
    info = count_segments(body)
    assert (info.encoding, info.segments) == (encoding, segments)


def test_a_non_breaking_space_forces_ucs2():
    assert count_segments("Hello\xa0world").encoding == "ucs2"
