from blog import add_tag, make_post


def test_posts_do_not_share_tags() -> None:
    first = add_tag(make_post("first"), "x")
    second = make_post("second")
    assert first["tags"] == ["x"]
    assert second["tags"] == []


def test_given_tags_kept() -> None:
    assert make_post("t", ["a"])["tags"] == ["a"]
