#!/usr/bin/env python3
"""Writes a generated request log for `switchyard simulate` into a migrated SQLite database.

    bench/simulate/log.py DB [N]

N records (default 10,000) of route `customer-support` over the last 23 hours, as
routes/customer-support.yaml would have logged them: paid users on Claude, free users split
90/10 between llama and gpt-5-mini, a few free users over their rate limit (429). Each record
carries route facts (token estimates; the `x-tier` header on some, except in the first quarter,
logged by a version that did not read it). The database must exist and
be migrated first (`switchyard migrate` with `storage: sqlite:DB`). Seeded: the same N gives
the same log.
"""
import json
import random
import sqlite3
import sys
import time

db, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
rng = random.Random(7)
now = time.time()
start = now - 23 * 3600
columns = ("id, created_at, gateway, account, provider, model, route, route_path, step, path, status_code, success, cached, stream, "
           "duration, ttfb, tokens_in, tokens_out, cached_tokens_in, reasoning_tokens, cost, metadata, event_id, user_agent, "
           "request_size, response_size, request_body, response_body, feedback, score, route_facts")
prices = {"anthropic/claude-sonnet-4-5": (3.0, 15.0), "workers-ai/@cf/meta/llama-3.3-70b-instruct-fp8-fast": (0.293, 2.253),
          "openai/gpt-5-mini": (0.25, 2.0)}
rows = []
for i in range(n):
    t = start + i * (23 * 3600 / n)
    user = f"user-{rng.randrange(100)}"
    plan = "paid" if rng.random() < 0.3 else "free"
    tokens_in, tokens_out = rng.randrange(50, 2000), rng.randrange(20, 800)
    headers = {"x-tier": "gold"} if rng.random() < 0.2 else {}
    # The first quarter was logged by a version that read no header: `x-tier` was not kept.
    old = i < n // 4
    facts = {"read": [] if old else ["headers.x-tier"], "tokens": {"input": tokens_in, "output": 1024}}
    if headers and not old:
        facts["headers"] = headers
    if plan == "paid":
        path, target, status = "plan>paid-budget>claude", "anthropic/claude-sonnet-4-5", 200
    elif rng.random() < 0.03:
        path, target, status = "plan>free-limit>reject", None, 429
    elif rng.random() < 0.9:
        path, target, status = "plan>free-limit>ab>llama", "workers-ai/@cf/meta/llama-3.3-70b-instruct-fp8-fast", 200
    else:
        path, target, status = "plan>free-limit>ab>gpt-mini", "openai/gpt-5-mini", 200
    provider, model = target.split("/", 1) if target else ("", "dynamic/customer-support")
    cost = 0.0
    if target:
        p_in, p_out = prices[target]
        cost = (tokens_in * p_in + tokens_out * p_out) / 1e6
    else:
        tokens_in = tokens_out = 0
    metadata = json.dumps({"plan": plan, "user_id": user, "org_id": f"org-{rng.randrange(20)}"}, separators=(",", ":"))
    rows.append((f"sim-{i:06d}", t, "default", "acct", provider, model, "customer-support@0123456789ab", path, 0,
                 "/v1/acct/default/compat/chat/completions", status, status == 200, False, False, 100.0, None,
                 tokens_in, tokens_out, 0, 0, cost, metadata, None, None, tokens_in * 4, 300, None, None, None, None,
                 json.dumps(facts, separators=(",", ":"))))

con = sqlite3.connect(db)
con.executemany(f"INSERT OR REPLACE INTO request_log ({columns}) VALUES ({','.join('?' * 31)})", rows)
con.commit()
print(f"{n} records written to {db}")
