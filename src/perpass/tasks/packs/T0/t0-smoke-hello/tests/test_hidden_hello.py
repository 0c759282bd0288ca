from pathlib import Path


def test_hello_file_says_hello() -> None:
    path = Path("hello.txt")
    assert path.is_file(), "hello.txt was not created"
    assert path.read_text().strip().strip("'\"").lower() == "hello"
