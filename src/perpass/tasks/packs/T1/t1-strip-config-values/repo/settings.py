"""A tiny `key = value` config format; lines starting with # are comments."""


def parse_config(text: str) -> dict[str, str]:
    settings: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise ValueError(f"not a key = value line: {raw!r}")
        key, value = line.split("=", 1)
        settings[key.strip()] = value
    return settings


def get_int(settings: dict[str, str], key: str, default: int) -> int:
    return int(settings[key]) if key in settings else default
