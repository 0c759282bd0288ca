from settings import get_int, parse_config


def test_values_are_stripped() -> None:
    parsed = parse_config("name = demo\n  port=8080  \nurl = http://x/?a=b \n")
    assert parsed == {"name": "demo", "port": "8080", "url": "http://x/?a=b"}


def test_int_after_parse() -> None:
    assert get_int(parse_config("workers =  4"), "workers", 1) == 4
