"""Shared helpers of the external-agent tests: a tiny agent written for the `command` adapter, and
scripted replies that fix the T1 leap-year task."""

from __future__ import annotations

from typing import Any

from perpass.config import Harness, RouteBase
from perpass.endpoints.kinds import make_route

# A whole agent in a few lines, as a `command` agent: asks the gateway (OPENAI_BASE_URL, with the dummy
# key it was given) for a shell command, runs it, sends the output back; stops at DONE. Exit codes:
# 0 done, 3 the gateway refused a call (the body is printed), 4 out of its own turns.
TINY_AGENT = r"""python - {instruction} <<'PY'
import json, os, subprocess, sys, urllib.error, urllib.request
base, key = os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"]
messages = [{"role": "user", "content": sys.argv[1]}]
for _ in range(20):
    body = json.dumps({"model": "tiny", "messages": messages}).encode()
    request = urllib.request.Request(base + "/chat/completions", data=body,
                                     headers={"Content-Type": "application/json", "Authorization": "Bearer " + key})
    try:
        reply = json.load(urllib.request.urlopen(request, timeout=60))
    except urllib.error.HTTPError as err:
        print("refused:", err.code, err.read().decode())
        sys.exit(3)
    content = reply["choices"][0]["message"]["content"]
    messages.append({"role": "assistant", "content": content})
    if content.strip() == "DONE":
        sys.exit(0)
    done = subprocess.run(content, shell=True, capture_output=True, text=True)
    messages.append({"role": "user", "content": done.stdout + done.stderr})
sys.exit(4)
PY"""

LEAP_FIX = ("sed -i 's/return year % 4 == 0 and year % 100 != 0/"
            "return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)/' calendar_utils.py")
PUSH = "git commit -qam 'Leap years: the 400-year rule' && git push -q origin main"


def tiny_agent_route(script: list[Any], prices: dict[str, float] | None = None, **harness: Any) -> RouteBase:
    return make_route(name="tiny-agent", kind="scripted", script=script, max_retries=0, prices=prices,
                 harness=Harness(agent="command", agent_command=TINY_AGENT, **harness))
