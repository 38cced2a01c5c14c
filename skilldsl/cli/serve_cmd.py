"""``skilldsl serve SKILL... [--host 127.0.0.1] [--port 8000]``: the reward server.

Loads every SKILL once (the model with the first judge request), then serves OpenRLHF's remote
reward protocol at ``/reward/<skill>`` (and ``/reward``, ``/get_reward`` with one skill) and the
native API at ``/v1/score`` (see :mod:`skilldsl.serve.app`). Needs the ``[serve]`` extra.
SIGINT/SIGTERM drain: new requests get 503, those in flight are answered, then it exits 0.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ._common import add_model_arguments, add_plugin_argument, load_skill, positive, user_error

__all__ = ["add_parser", "run"]

TOKEN_ENV = "SKILLDSL_SERVE_TOKEN"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def add_parser(subparsers: Any) -> None:
    """Register ``serve``."""
    p = subparsers.add_parser(
        "serve", help="serve skills over HTTP (OpenRLHF remote reward protocol and a JSON API)",
        description="Serve SKILLs to trainers: OpenRLHF's --remote_rm_url protocol at /reward/<skill> and "
                    "POST /v1/score, batching rows across concurrent requests. Needs: pip install 'skilldsl[serve]'.")
    p.add_argument("skills", nargs="+", metavar="SKILL", help=".skill, .skillc or the name of a stock skill")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free port)")
    p.add_argument("--token", help=f"require 'Authorization: Bearer TOKEN' (default: ${TOKEN_ENV} if set)")
    add_model_arguments(p)
    add_plugin_argument(p)
    _add_limits(p)
    _add_openrlhf(p)
    p.set_defaults(func=run)


def _add_limits(p: Any) -> None:
    g = p.add_argument_group("batching and limits")
    g.add_argument("--max-batch-rows", type=positive, default=64, metavar="N",
                   help="rows per runtime batch, across requests (default 64)")
    g.add_argument("--max-wait-ms", type=_amount(0), default=5.0, metavar="MS",
                   help="how long a batch waits for more requests' rows (default 5)")
    g.add_argument("--max-pending-rows", type=positive, default=4096, metavar="N",
                   help="rows admitted and not yet answered; more -> 429 Retry-After (default 4096)")
    g.add_argument("--max-body-mb", type=_amount(1e-6), default=16.0, metavar="MB", help="request body limit (default 16)")
    g.add_argument("--timeout", type=_amount(1e-3), default=300.0, metavar="S", help="seconds per request -> 504 (default 300)")


def _amount(least: float):
    """An argparse ``type``: a finite number of at least ``least`` (else a usage error, exit 2)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not least <= value < float("inf"):
            raise argparse.ArgumentTypeError(f"must be a number of {least:g} or more, not {text}")
        return value
    return parse


def _add_openrlhf(p: Any) -> None:
    g = p.add_argument_group("OpenRLHF rows (query, prompts, labels) -> skill inputs")
    g.add_argument("--prompt-input", metavar="NAME", help="input that gets prompts[i] (default: prompt)")
    g.add_argument("--response-input", metavar="NAME",
                   help="input that gets query[i] minus its prompt (default: response; a for a pairwise skill)")
    g.add_argument("--label-input", metavar="NAME",
                   help="input that gets labels[i] (default: the skill's one reference input; e.g. b for a "
                        "pairwise skill judged against a baseline)")
    g.add_argument("--strip-suffix", action="append", default=[], metavar="TEXT",
                   help="remove TEXT (an end-of-turn token such as '<|im_end|>') from the end of responses; repeatable")
    g.add_argument("--na-reward", type=float, metavar="X", help="reward sent for a na row (default: null)")
    g.add_argument("--error-reward", type=float, metavar="X",
                   help="reward sent for an error row (default: null: OpenRLHF stops rather than train on a made-up number)")


def run(args: Any) -> int:
    """Load the skills, then serve until interrupted; exit 0 after a clean drain."""
    try:
        from ..serve import ServeConfig, create_app, resolve_mapping, serve
    except ImportError as exc:
        return user_error(f"skilldsl serve needs the [serve] extra ({exc.name} is missing): pip install 'skilldsl[serve]'")
    skills = {}
    for path in args.skills:
        skill = load_skill(args, path, batch_size=args.max_batch_rows)
        if skill.name in skills:
            return user_error(f"two skills are named {skill.name!r}: serve each name once")
        skills[skill.name] = skill
    try:
        mappings = {name: resolve_mapping(s.program, **_mapping_options(args)) for name, s in skills.items()}
    except ValueError as exc:
        return user_error(str(exc))
    token = args.token or os.environ.get(TOKEN_ENV) or None
    if token is None and args.host not in LOOPBACK:
        print(f"warning: serving on {args.host} without a token (--token or ${TOKEN_ENV})", file=sys.stderr)
    config = ServeConfig(max_batch_rows=args.max_batch_rows, max_wait=args.max_wait_ms / 1000,
                         max_pending_rows=args.max_pending_rows, max_body_bytes=int(args.max_body_mb * (1 << 20)),
                         timeout=args.timeout, token=token)
    serve(create_app(skills, config, mappings), host=args.host, port=args.port)
    return 0


def _mapping_options(args: Any) -> dict:
    return {"prompt": args.prompt_input, "response": args.response_input, "label": args.label_input,
            "strip": tuple(args.strip_suffix), "na_reward": args.na_reward, "error_reward": args.error_reward}
