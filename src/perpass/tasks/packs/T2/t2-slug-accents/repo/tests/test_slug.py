from slug import slugify


def test_simple() -> None:
    assert slugify("Hello World") == "hello-world"


def test_accents() -> None:
    assert slugify("Café Crème") == "cafe-creme"
