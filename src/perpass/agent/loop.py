"""The agent loop: one task × one route, from a fresh workspace to a verdict and a transcript.

In the style of mini-swe-agent: a linear, append-only message history (earlier messages are never
rewritten, so a local server reuses its KV cache for the shared prefix), one action per reply, and
budgets that end the episode with a stop reason instead of an exception.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from perpass.agent import prompts
from perpass.agent.budget import Counters, PromptEstimate, Spend, call_cost_usd, looks_like_context_overflow
from perpass.agent.environment import Environment, Outcome
from perpass.agent.external import external_agent
from perpass.agent.external.episode import ExternalRun
from perpass.agent.model import EndpointModel, Model, OracleModel
from perpass.agent.native_tools import TOOLS, run_tool_call
from perpass.agent.text_protocol import parse_command
from perpass.agent.transcript import TranscriptHeader, write_transcript
from perpass.agent.types import INFRA_STOPS, EpisodeResult, Step, StopReason
from perpass.config import RouteBase
from perpass.endpoints.client import CallCutShort, ChatReply
from perpass.endpoints.kinds import kind_of
from perpass.endpoints.live import LiveRoute
from perpass.endpoints.local import log_shows_oom
from perpass.endpoints.usage import Usage, sum_known
from perpass.errors import UserError
from perpass.sandbox import Limits, Mount, SandboxBackend, SandboxError, Session, SessionSpec, prepare_seed
from perpass.sandbox.errors import SessionLost
from perpass.sandbox.types import INSIDE_PATHS
from perpass.tasks import Task, oracle_replies
from perpass.tasks.environment import task_venv
from perpass.verifier import Verdict
from perpass.verifier.sandboxed import collect_delivery, task_folder_mount, verify

Stop = tuple[StopReason, str | None]  # a stop reason and, for infra stops, what went wrong


def make_model(task: Task, live: LiveRoute) -> tuple[Model, str]:
    """The model for this route and the tool protocol it speaks (the oracle always speaks text)."""
    if live.endpoint is None:
        return OracleModel(oracle_replies(task)), "text"
    return EndpointModel(live.endpoint, live.route), live.route.harness.tool_protocol


def endpoint_stop(err: Exception, live: LiveRoute) -> Stop:
    """Tell an out-of-memory server, an overfull prompt and plain endpoint trouble apart."""
    text = f"{type(err).__name__}: {err}"
    server = live.server
    if server is not None and server.exit_code is not None:
        tail = server.log_tail()
        reason = StopReason.OOM if log_shows_oom(tail) else StopReason.ENDPOINT_ERROR
        return reason, f"local server exited with code {server.exit_code}: {text}; log: {tail[-300:]}"
    if looks_like_context_overflow(text):
        return StopReason.CONTEXT_LIMIT, text
    if log_shows_oom(text):
        return StopReason.OOM, text
    return StopReason.ENDPOINT_ERROR, text


class AgentLoop:
    """The state of one episode's conversation; `run()` returns how it stopped."""

    def __init__(self, task: Task, live: LiveRoute, env: Environment,
                 on_step: Callable[[Step], None] | None) -> None:
        self.live = live
        self.harness = live.route.harness
        self.env = env
        self.on_step = on_step
        self.model, self.protocol = make_model(task, live)
        self.tools = TOOLS if self.protocol == "native" else None
        self.messages: list[dict[str, Any]] = []
        self.pending: list[dict[str, Any]] = [
            {"role": "system", "content": prompts.system_prompt(self.harness.system_prompt)},
            {"role": "user",
             "content": prompts.first_message(task.instruction, self.protocol, task.delivery)},
        ]
        self.steps: list[Step] = []
        self.calls = 0
        self.model_s = 0.0
        self.submitted = False
        self.estimate = PromptEstimate(self.tools)
        self.counters = Counters()
        self.spend = Spend.for_harness(self.harness, env.deadline)
        self.last_finish: str | None = None

    def run(self) -> Stop:
        while True:
            if len(self.steps) >= self.harness.max_turns:
                return self.budget_stop(StopReason.TURN_LIMIT), None
            if time.monotonic() >= self.env.deadline:
                return StopReason.WALL_LIMIT, None
            spent = self.spend.exhausted()  # the token and cost budgets (turns and wall are checked above)
            if spent is not None:
                return self.budget_stop(spent[0]), None
            stop = self.step()
            if stop is not None:
                return stop

    def budget_stop(self, reason: StopReason) -> StopReason:
        """A reply cut at max tokens on the final call explains the stop better than the budget hit."""
        return StopReason.OUTPUT_TRUNCATED if self.last_finish == "length" else reason

    def step(self) -> Stop | None:
        started = time.perf_counter()
        messages_in, self.pending = self.pending, []
        self.messages.extend(messages_in)
        needed = self.estimate.next_prompt(self.messages) + self.harness.max_output_tokens
        if needed > self.live.route.context_window:
            return StopReason.CONTEXT_LIMIT, None
        self.calls += 1
        server = self.live.server
        cpu_before = server.tree_cpu_seconds() if server is not None else None
        call_started = time.perf_counter()
        try:
            # A call may not outlive the episode's wall budget.
            reply = self.model.query(self.messages, self.tools, timeout_s=self.env.deadline - time.monotonic())
        except Exception as err:  # EndpointError, or anything a broken server provokes in the client
            if time.monotonic() >= self.env.deadline:
                self.record_cut_short(messages_in, err, time.perf_counter() - call_started)
                return StopReason.WALL_LIMIT, None
            return endpoint_stop(err, self.live)
        if server is not None and cpu_before is not None and reply.usage.compute_s is None:
            cpu_after = server.tree_cpu_seconds()
            if cpu_after is not None:
                reply.usage.server_cpu_compute_s = max(0.0, cpu_after - cpu_before) / server.threads
        latency = reply.usage.latency_s
        if latency is None:
            latency = time.perf_counter() - call_started
        self.model_s += latency
        self.spend.add(reply.usage, call_cost_usd(self.live.route, reply.usage))
        assistant = reply.assistant_message()
        self.messages.append(assistant)
        self.estimate.after_call(reply.usage, len(self.messages))
        self.last_finish = reply.finish_reason
        outcomes = self.act(reply)
        step = Step(
            index=len(self.steps), messages_in=messages_in, reply=reply.content,
            tool_calls=[asdict(c) for c in reply.tool_calls],
            action=" ; ".join(o.action for o in outcomes if not o.format_error) or None,
            observation="\n".join(o.observation for o in outcomes),
            exit_code=next((o.exit_code for o in reversed(outcomes) if o.exit_code is not None), None),
            usage=reply.usage, action_s=sum(o.action_s for o in outcomes), assistant=assistant,
        )
        step.harness_s = max(0.0, time.perf_counter() - started - latency - (step.action_s or 0.0))
        self.steps.append(step)
        if self.on_step is not None:
            self.on_step(step)
        return self.judge(step, outcomes)

    def record_cut_short(self, messages_in: list[dict[str, Any]], err: Exception, seconds: float) -> None:
        """The wall budget ended a call in flight: keep it as a step with what it consumed (its time; the
        tokens streamed so far or the server's count; else the prompt as estimated), so it is billed.
        A call is never free because the episode ran out of time during it."""
        usage = err.usage if isinstance(err, CallCutShort) else Usage(latency_s=seconds, aborted=True,
                                                                        finish_reason="cut_short")
        if usage.prompt_tokens is None:
            usage.prompt_tokens = self.estimate.next_prompt(self.messages)
        self.model_s += usage.latency_s or seconds
        step = Step(index=len(self.steps), messages_in=messages_in, reply="",
                    observation=f"[call cut short by the wall budget after {usage.latency_s or seconds:.1f} s]",
                    usage=usage)
        self.steps.append(step)
        if self.on_step is not None:
            self.on_step(step)

    def act(self, reply: ChatReply) -> list[Outcome]:
        """Run the reply's action(s) and queue what the model sees next."""
        if self.protocol == "text":
            outcome = self.act_text(reply.content)
            self.pending.append({"role": "user", "content": outcome.observation})
            return [outcome]
        if not reply.tool_calls:
            message = prompts.format_error_message("native")
            self.pending.append({"role": "user", "content": message})
            return [Outcome("", message, format_error=True)]
        outcomes = []
        for call in reply.tool_calls:
            outcome = run_tool_call(call, self.env)
            outcomes.append(outcome)
            if outcome.submitted or outcome.sandbox_error or outcome.limit or outcome.lost:
                break
            self.pending.append({"role": "tool", "tool_call_id": call.id, "content": outcome.observation})
        return outcomes

    def act_text(self, content: str) -> Outcome:
        command = parse_command(content)
        if command is None:
            return Outcome("", prompts.format_error_message("text"), format_error=True)
        lines = command.splitlines()
        if lines[-1].strip() != "submit":
            return self.env.run(command)
        # "git push ...\nsubmit": run what comes before, then finish, as the model clearly meant.
        before = "\n".join(lines[:-1]).strip()
        if not before:
            return Outcome("submit", "submitted", submitted=True)
        outcome = self.env.run(before)
        outcome.submitted = outcome.sandbox_error is None and not outcome.limit and not outcome.lost
        return outcome

    def judge(self, step: Step, outcomes: list[Outcome]) -> Stop | None:
        """Which stop, if any, this step triggers. Order matters: the most specific reason wins."""
        infra = next((o.sandbox_error for o in outcomes if o.sandbox_error), None)
        if infra:
            return StopReason.SANDBOX_ERROR, infra
        hit = next((o.limit for o in outcomes if o.limit), None)
        if hit:
            return StopReason.RESOURCE_LIMIT, f"the session hit its {hit} limit"
        if any(o.lost for o in outcomes):
            return StopReason.SESSION_LOST, "the sandbox session ended under the agent's command"
        if any(o.submitted for o in outcomes):
            self.submitted = True
            return StopReason.SUBMITTED, None
        limit = self.harness.format_error_limit
        c = self.counters
        c.length_finishes = c.length_finishes + 1 if self.last_finish == "length" else 0
        if c.length_finishes >= limit:
            return StopReason.OUTPUT_TRUNCATED, None
        if all(o.format_error for o in outcomes):
            c.format_errors += 1
            if c.format_errors >= limit:
                return self.budget_stop(StopReason.FORMAT_ERRORS), None
            return None
        c.format_errors = 0
        if c.saw_action(step.action or "", step.observation or "") >= self.harness.stuck_repeats:
            return StopReason.STUCK, None
        return None


def reference_mounts(task: Task, route: RouteBase) -> tuple[Mount, ...]:
    """The oracle, and no model, sees the task's solution folder where the task's solve.sh expects it
    (Harbor's /solution, read-only): its solve.sh may run a solve.py beside it."""
    if not task.fixed_paths.solution or not kind_of(route.kind).reference:
        return ()
    return (task_folder_mount(task, task.solution, task.fixed_paths.solution),)


def start_session(task: Task, live: LiveRoute, backend: SandboxBackend, limits: Limits,
                  mounts: tuple[Mount, ...] = ()) -> Session:
    seed = prepare_seed(task.repo, task.content_hash, remote_mb=limits.remote_mb)
    workspace = task.fixed_paths.workspace
    links = ((workspace, INSIDE_PATHS.workspace),) if workspace else ()
    return backend.start(SessionSpec(limits, shell=live.route.harness.shell, seed=seed, label=task.id,
                                     venv=task_venv(task), links=links, mounts=mounts,
                                     python_path=task.python_path))


def verify_session(task: Task, session: Session, backend: SandboxBackend, stop: Stop,
                   keep_workspace: Path | None = None) -> tuple[Stop, Verdict | None, str]:
    """Read what the agent delivered, end its session, verify. A session the agent took down delivers
    nothing (a fail); only the verifier's own sandbox failing is infra. keep_workspace: a file to write
    the agent's workspace to (as a tar, .git included) before the session and its tmpfs go."""
    try:
        delivered = collect_delivery(task, session)
        if keep_workspace is not None:
            keep_workspace.write_bytes(session.export_tar(session.paths.workspace))
    except SessionLost as err:
        reason = stop if stop[0] is not StopReason.SUBMITTED else (StopReason.SESSION_LOST, str(err))
        return reason, None, f"[verifier: nothing to verify: {err}]"
    except SandboxError as err:  # the supervisor answered, so it is the content that could not be read
        return stop, None, f"[verifier: the delivery could not be read: {err}]"
    finally:
        session.close()
    try:
        verdict = verify(task, delivered, backend)
    except Exception as err:  # the verifier's sandbox could not run: infra, never the model's failure
        return (StopReason.SANDBOX_ERROR, f"verifier failed: {type(err).__name__}: {err}"), None, \
            traceback.format_exc(limit=5)
    return stop, verdict, verdict.output


def host_load() -> float:
    """The host's 1-minute load average: above its core count, times measured now are contended."""
    return os.getloadavg()[0]


MAX_CONTENTION_SCALE = 4.0


def wall_budget_s(route: RouteBase, task: Task, load: float, cpus: int) -> float:
    """The episode's wall budget. A model served on this machine shares its cores with whatever else
    runs: under load above the core count its budget grows by load / cores (at most 4×), so a busy
    host does not end its episodes at a limit the model would have met alone (the episode's host load
    is stored; cards flag contended episodes). Remote models are not slowed by this host."""
    budget = min(route.harness.wall_limit_s, task.time_limit_s)
    if not route.starts_server:
        return budget
    return budget * min(MAX_CONTENTION_SCALE, max(1.0, load / max(cpus, 1)))


def run_episode(task: Task, live: LiveRoute, backend: SandboxBackend, episode_dir: Path, *,
                limits: Limits | None = None, on_step: Callable[[Step], None] | None = None,
                keep_workspace: bool = False) -> EpisodeResult:
    """Run one episode in its own sandbox session and verify it. Model, endpoint and sandbox trouble
    become stop reasons. The workspace lives only in the session; keep_workspace saves it as
    episode_dir/workspace.tar."""
    started = time.perf_counter()
    load_at_start = host_load()
    route = live.route
    limits = limits or Limits()
    prompts.system_prompt(route.harness.system_prompt)  # a bad prompt name is the user's error: raise now
    episode_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wall_budget_s(route, task, load_at_start, os.cpu_count() or 1)
    agent = external_agent(route.harness)  # None: perpass's own loop; a bad name or setting is the user's error
    external = ExternalRun(task, live, agent, episode_dir, deadline) if agent is not None else None
    runner: AgentLoop | ExternalRun | None = None
    session: Session | None = None
    verdict: Verdict | None = None
    verdict_output, verify_s = "", None
    try:
        try:
            mounts = external.prepare() if external is not None else reference_mounts(task, live.route)
            session = start_session(task, live, backend, limits, mounts)
            setup_s = time.perf_counter() - started
        except UserError:
            raise
        except Exception as err:  # the sandbox side (or the agent's install) failed before the model said a word
            setup_s = time.perf_counter() - started
            stop: Stop = (StopReason.SANDBOX_ERROR, f"sandbox session did not start: {type(err).__name__}: {err}")
        else:
            try:
                if external is not None:
                    runner = external
                    stop = external.run(session)
                else:
                    env = Environment(session, route.harness.command_timeout_s, route.harness.max_observation_chars,
                                      deadline)
                    runner = AgentLoop(task, live, env, on_step)
                    stop = runner.run()
            except BaseException:
                session.close()
                raise
    finally:
        if external is not None:
            external.close()
    if session is not None:
        if stop[0] in INFRA_STOPS or stop[0] is StopReason.SESSION_LOST:
            session.close()
        else:
            verify_started = time.perf_counter()
            kept = episode_dir / "workspace.tar" if keep_workspace else None
            stop, verdict, verdict_output = verify_session(task, session, backend, stop, kept)
            verify_s = time.perf_counter() - verify_started
    reason, error = stop
    passed = verdict is not None and verdict.passed and reason not in INFRA_STOPS
    if verdict is not None and reason not in INFRA_STOPS:
        verdict_output = verdict.output if verdict.passed else f"[verdict: {verdict.reason}: {verdict.detail}]\n" \
            + verdict.output
    steps = runner.steps if runner else []
    usages = [s.usage for s in steps]
    result = EpisodeResult(
        task_id=task.id, route=route.name, stop_reason=reason, passed=passed,
        submitted=bool(runner and runner.submitted), turns=len(steps), calls=runner.calls if runner else 0,
        prompt_tokens=sum_known([u.prompt_tokens for u in usages]),
        cached_prompt_tokens=sum_known([u.cached_prompt_tokens for u in usages]),
        completion_tokens=sum_known([u.completion_tokens for u in usages]),
        reasoning_tokens=sum_known([u.reasoning_tokens for u in usages]),
        wall_s=0.0, model_s=runner.model_s if runner else 0.0, verifier_output=verdict_output, error=error,
        steps=steps, setup_s=setup_s, verify_s=verify_s,
        verdict=verdict if reason not in INFRA_STOPS else None, agent=route.harness.agent,
        agent_log=external.log if external is not None else None,
    )
    result.wall_s = time.perf_counter() - started
    result.host_load = max(load_at_start, host_load())  # the busier of start and end
    result.host_cpus = os.cpu_count()
    header = TranscriptHeader(task=task.id, task_hash=task.content_hash, tier=task.tier, route=route.name,
                              route_kind=route.kind, config_hash=route.config_hash(), sandbox=backend.name,
                              protocol=runner.protocol if runner else route.harness.tool_protocol,
                              tools=runner.tools if runner else None,
                              external=external.header() if external is not None else None)
    result.transcript = str(write_transcript(result, episode_dir, header))
    return result
