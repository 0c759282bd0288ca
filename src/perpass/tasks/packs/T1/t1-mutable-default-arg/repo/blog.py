"""Blog posts with tags."""


def make_post(title: str, tags: list[str] = []) -> dict:
    return {"title": title, "tags": tags}


def add_tag(post: dict, tag: str) -> dict:
    if tag not in post["tags"]:
        post["tags"].append(tag)
    return post
