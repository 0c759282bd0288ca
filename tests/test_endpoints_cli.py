"""`perpass smoke` from the command line: scripted routes, exit codes, one-line errors."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest
from conftest import run_perpass as perpass

from perpass.testing import ScriptedServer


def write_routes(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "routes.yaml"
    path.write_text(body)
    return path


def test_help_lists_commands() -> None:
    out = perpass("--help")
    assert out.returncode == 0
    assert "smoke" in out.stdout and "demo" in out.stdout


def test_scripted_route_passes_smoke(tmp_path: Path) -> None:
    routes = write_routes(tmp_path, """
routes:
  replay:
    kind: scripted
    script: ["```bash\\necho hello\\n```", "```bash\\ncat README.md\\n```"]
""")
    out = perpass("smoke", "replay", "--routes", str(routes), "--json", "--log-dir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) >= {"route", "ok", "reason", "calls", "prompt_tokens", "completion_tokens",
                         "decode_tok_s", "peak_rss_mb"}
    assert data["ok"] is True and data["calls"] == 2 and data["prompt_tokens"] > 0
    assert data["peak_rss_mb"] is None  # not a local server


def test_script_file_route(tmp_path: Path) -> None:
    (tmp_path / "replies.yaml").write_text('- "```bash\\nls\\n```"\n')
    routes = write_routes(tmp_path, "routes:\n  r:\n    kind: scripted\n    script_file: replies.yaml\n")
    out = perpass("smoke", "r", "--routes", str(routes), "--json", "--log-dir", str(tmp_path))
    assert out.returncode == 0, out.stderr


def test_unparsable_replies_fail_smoke_with_exit_1(tmp_path: Path) -> None:
    routes = write_routes(tmp_path, "routes:\n  chatty:\n    kind: scripted\n    script: ['Sure! I can help.']\n")
    out = perpass("smoke", "chatty", "--routes", str(routes), "--json", "--log-dir", str(tmp_path))
    assert out.returncode == 1
    assert "fenced" in json.loads(out.stdout)["reason"]


def test_remote_route_against_running_server(tmp_path: Path) -> None:
    with ScriptedServer(["```sh\npwd\n```"]) as server:
        routes = write_routes(tmp_path, f"routes:\n  remote:\n    kind: openai\n    base_url: {server.base_url}\n")
        out = perpass("smoke", "remote", "--routes", str(routes), "--json", "--log-dir", str(tmp_path))
    assert out.returncode == 0, out.stderr


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(("body", "expect"), [
    ("routes:\n  a: [1, 2\n", "routes.yaml:3: malformed YAML"),
    ("routes:\n  a:\n    kind: openai\n    base_url: http://x/v1\n    temprature: 1\n",
     "routes.yaml:5: routes.a.temprature: unknown key"),
    ("routes:\n  a:\n    kind: local\n    gguf: /nonexistent/model.gguf\n",
     "GGUF file not found: /nonexistent/model.gguf"),
    ("routes:\n  a:\n    kind: openai\n    base_url: http://127.0.0.1:{port}/v1\n", "connection refused"),
    ("routes:\n  a:\n    kind: openai\n", "needs base_url"),
    ("routes:\n  a:\n    kind: openai\n    base_url: http://x/v1\n    api_key_env: PERPASS_UNSET_KEY_XYZ\n",
     "PERPASS_UNSET_KEY_XYZ is empty or unset"),
    ("routes:\n  a:\n    kind: openai\n    base_url: http://x/v1\n    max_retries: -1\n",
     "routes.yaml:5: routes.a.max_retries"),
])
def test_bad_input_is_one_line_exit_2(tmp_path: Path, body: str, expect: str) -> None:
    routes = write_routes(tmp_path, body.replace("{port}", str(_closed_port())))
    out = perpass("smoke", "a", "--routes", str(routes), "--json", "--log-dir", str(tmp_path / "logs"))
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert expect in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "logs").exists() or not any((tmp_path / "logs").iterdir())


def test_unknown_route_and_missing_file(tmp_path: Path) -> None:
    out = perpass("smoke", "nope")
    assert out.returncode == 2 and "unknown route 'nope'" in out.stderr and "local-smollm2" in out.stderr
    out = perpass("smoke", "a", "--routes", str(tmp_path / "missing.yaml"))
    assert out.returncode == 2 and "file not found" in out.stderr


@pytest.mark.needs_local
def test_port_in_use_is_bad_input(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        routes = write_routes(tmp_path, f"routes:\n  a:\n    kind: local\n    gguf: embedded\n"
                                        f"    serving: {{port: {port}}}\n")
        out = perpass("smoke", "a", "--routes", str(routes), "--json", "--log-dir", str(tmp_path / "logs"))
    assert out.returncode == 2 and f"port {port} on 127.0.0.1 is already in use" in out.stderr


def test_server_that_never_becomes_healthy(tmp_path: Path) -> None:
    import psutil

    fake = tmp_path / "llama-server"
    fake.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(300)\n")  # starts, never answers
    fake.chmod(0o755)
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    routes = write_routes(tmp_path, f"routes:\n  a:\n    kind: local\n    gguf: {tmp_path / 'm.gguf'}\n"
                                    f"    serving: {{server: llama-server, server_binary: {fake}, "
                                    f"startup_timeout_s: 1.5}}\n")
    out = perpass("smoke", "a", "--routes", str(routes), "--json", "--log-dir", str(tmp_path / "logs"))
    assert out.returncode == 2, out.stderr
    assert "not healthy after 2s" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not [p for p in psutil.process_iter(["cmdline"]) if str(fake) in " ".join(p.info["cmdline"] or [])]
