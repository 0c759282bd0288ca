import pytest

from slug import slugify
from text_norm import strip_accents


@pytest.mark.parametrize(("title", "slug"), [
    ("Café Crème", "cafe-creme"), ("  Hello,   World!  ", "hello-world"), ("Ångström 2.0", "angstrom-2-0"),
    ("naïve -- résumé", "naive-resume"), ("plain", "plain"),
])
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_strip_accents() -> None:
    assert strip_accents("Crème brûlée") == "Creme brulee"
