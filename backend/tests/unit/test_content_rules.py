from __future__ import annotations

import re

from sharestack.content.service import make_excerpt, make_slug, tag_slug


def test_slugs() -> None:
    assert re.fullmatch(r"hello-world-[0-9a-f]{8}", make_slug("Hello, World!"))
    assert re.fullmatch(r"p-[0-9a-f]{8}", make_slug("你好，世界"))
    assert re.fullmatch(r"cafe-python-[0-9a-f]{8}", make_slug("Café 与 Python"))
    assert len(make_slug("x" * 300)) <= 120
    assert make_slug("same") != make_slug("same")


def test_tag_slugs_fold_case_width_and_spaces() -> None:
    assert tag_slug("  Machine   Learning ") == "machine-learning"
    assert tag_slug("ＡＢＣ") == "abc"
    assert tag_slug("科技") == "科技"


def test_excerpt() -> None:
    assert make_excerpt("短文\n\n 第二行") == "短文 第二行"
    long = make_excerpt("字" * 500)
    assert len(long) == 160
    assert long.endswith("…")
