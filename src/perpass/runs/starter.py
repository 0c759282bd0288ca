"""The commented starter plan `perpass init` writes."""

STARTER_PLAN = """\
# perpass plan: one OFAT matrix per model. Check it with `perpass plan plan.yaml --show`,
# run it with `perpass run plan.yaml` (run the same command again to resume).

# Routes: the built-in ones (local-smollm2, oracle) always exist. Add yours in a routes file
# (same format as `perpass smoke --routes`) or inline under `routes:`.
# routes_file: routes.yaml
routes: {}
#   my-vllm:
#     kind: openai
#     base_url: http://127.0.0.1:8000/v1
#     model: Qwen/Qwen2.5-Coder-7B-Instruct
#     concurrency: 4            # remote routes may run episodes in parallel

tasks:
  tiers: [T0, T1]               # built-in packs: T0 (smoke), T1, T2, T3
  # ids: [t1-leap-year-rule]    # or name tasks one by one
  # folder: ./my-tasks          # or a folder of your own task folders
  limit: 2                      # first N tasks per tier (remove for the full packs)

repeats: 3                      # N >= 3: a single run is never trusted
# allow_single_run: true        # needed for repeats < 3; every result is then marked not trusted
# allocation: adaptive          # N = 3 for every cell, then more repeats only where the decision is
#                               # still open, up to `repeats` (then the maximum N; 10 is typical)
# adaptive: {error_rate: 0.05, prices: prices.yaml}   # optional: the rule's error rate, overheads
infra_retries: 1                # endpoint errors, OOM, sandbox failures: re-try this many times
# oom_floor_mb: 2048            # stop a local server when available memory drops below this
#                               # (default: 10 % of RAM or 2 GiB, whichever is larger)
smoke:
  enabled: true                 # smoke checks + one T0 episode per route before any cell runs
  require_pass: false           # also require the T0 episode to pass

models:
  smollm2:
    route: local-smollm2
    baseline:                   # overrides applied to the route for every cell
      max_turns: 4
      max_output_tokens: 128
    factors:                    # one cell per level, each changing only this factor
      temperature: [0.7]        # sampling: temperature, top_p, seed
      n_ctx: [2048]             # serving: n_ctx, kv_type, threads, n_parallel, gguf (restarts the server)
      # max_turns: [8]          # harness: tool_protocol, max_turns, max_output_tokens, system_prompt
    # cells:                    # explicit cells; two factors at once only with allow_interactions
    #   - set: {temperature: 0.7, max_turns: 8}
    #     allow_interactions: true
"""
