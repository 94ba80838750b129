from __future__ import annotations

import re

import pytest
from pydantic import BaseModel

from sharestack.cache import keys
from sharestack.content import rules
from sharestack.content.cached import PAYLOAD_VERSION, CachedItem, Served
from sharestack.content.exceptions import ContentNotFound, NotAuthor, StaleVersion
from sharestack.content.rules import make_excerpt, make_slug, tag_slug


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


# -- who sees an item, who sees its body, who may change it (no I/O) ---------------------------

AUTHOR, READER = 1, 2


def test_a_draft_exists_only_for_its_author() -> None:
    assert rules.is_visible("draft", AUTHOR, AUTHOR)
    assert not rules.is_visible("draft", AUTHOR, READER)
    assert not rules.is_visible("draft", AUTHOR, None)
    assert rules.is_visible("published", AUTHOR, None)
    assert rules.is_visible("published", AUTHOR, READER)


def test_only_the_author_changes_an_item() -> None:
    rules.ensure_author("draft", AUTHOR, AUTHOR)
    rules.ensure_author("published", AUTHOR, AUTHOR)
    with pytest.raises(ContentNotFound):  # someone else's draft does not exist for them
        rules.ensure_author("draft", AUTHOR, READER)
    with pytest.raises(NotAuthor):
        rules.ensure_author("published", AUTHOR, READER)


@pytest.mark.parametrize(
    ("visibility", "viewer", "has_access", "withheld"),
    [
        ("public", None, False, False),
        ("public", READER, False, False),
        ("subscribers", None, False, True),
        ("subscribers", None, True, True),  # an anonymous caller holds no subscription
        ("subscribers", READER, False, True),
        ("subscribers", READER, True, False),
        ("subscribers", AUTHOR, False, False),
    ],
)
def test_the_body_of_a_subscribers_only_item_is_withheld_from_non_subscribers(
    visibility: str, viewer: int | None, has_access: bool, withheld: bool
) -> None:
    assert rules.withholds_body(visibility, AUTHOR, viewer, has_access) is withheld


def test_the_subscription_is_asked_only_when_it_decides() -> None:
    assert rules.needs_access_check("subscribers", AUTHOR, READER)
    assert not rules.needs_access_check("subscribers", AUTHOR, AUTHOR)
    assert not rules.needs_access_check("subscribers", AUTHOR, None)
    assert not rules.needs_access_check("public", AUTHOR, READER)


def _item(visibility: str) -> CachedItem:
    return CachedItem(AUTHOR, "a-1", ["科技"], visibility, 3, b'{"body":"x"}', b'{"body":null}')


def test_a_cached_item_round_trips_and_serves_each_viewer_their_rendering() -> None:
    item = _item("subscribers")
    assert CachedItem.decode(item.encode()) == item
    assert item.served_to(None, has_access=False) == Served(item.withheld, '"3-withheld"')
    assert item.served_to(READER, has_access=False).body == item.withheld
    assert item.served_to(READER, has_access=True) == Served(item.full, '"3"')
    assert item.served_to(AUTHOR, has_access=False).body == item.full
    assert _item("public").served_to(None, has_access=False).body == b'{"body":"x"}'


def test_the_payload_version_follows_the_response_schema() -> None:
    class Before(BaseModel):
        title: str

    class After(BaseModel):
        title: str
        subtitle: str

    assert keys.payload_version(Before) == keys.payload_version(Before)
    assert keys.payload_version(Before) != keys.payload_version(After)
    assert keys.payload_version(Before, revision=1) != keys.payload_version(Before, revision=2)
    key = keys.content_by_id("ss:cache:", 7, PAYLOAD_VERSION)
    assert PAYLOAD_VERSION in key.value
    assert PAYLOAD_VERSION not in key.generation  # one invalidation reaches every version


def test_subscribers_only_items_get_no_excerpt_made_from_their_body() -> None:
    body = "付费正文，不应公开。" * 40
    assert rules.excerpt_for("subscribers", body, None) == ""
    assert rules.excerpt_for("subscribers", body, "作者写的摘要") == "作者写的摘要"
    assert rules.excerpt_for("public", body, None) == make_excerpt(body)
    assert not rules.excerpt_was_written(make_excerpt(body), body)
    assert rules.excerpt_was_written("作者写的摘要", body)
    assert not rules.excerpt_was_written("", body)


@pytest.mark.parametrize(
    ("if_match", "ok"),
    [
        (None, True),
        ("*", True),
        ('"3"', True),
        ('W/"3"', True),
        ('"3-withheld"', True),
        ('"2", "3"', True),
        ('"2"', False),
        ("3", False),
        ('"abc"', False),
        ('"' + "9" * 30 + '"', False),
    ],
)
def test_if_match_names_the_current_version_or_is_refused(if_match: str | None, ok: bool) -> None:
    if ok:
        rules.ensure_version(3, if_match)
    else:
        with pytest.raises(StaleVersion):
            rules.ensure_version(3, if_match)
