from blog import add_tag, make_post


def test_add_tag_once() -> None:
    post = add_tag(add_tag(make_post("t", ["a"]), "b"), "b")
    assert post["tags"] == ["a", "b"]
