"""The published JSON Schema of `perpass decide --json`, generated from the typed Decision.

Regenerate after changing a result model: `python -m perpass.analysis.schema > docs/schemas/decide.schema.json`
(a test fails while the committed file and the models disagree).
"""

from __future__ import annotations

import json
from typing import Any

from perpass.analysis.results import Decision


def decision_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of `perpass decide --json`, with the published field names."""
    schema = Decision.model_json_schema(by_alias=True, mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "perpass decide --json"
    return schema


def schema_text() -> str:
    return json.dumps(decision_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")
