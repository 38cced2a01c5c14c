"""The reward server (``skilldsl serve``): OpenRLHF's remote reward protocol and a native JSON
API over loaded skills, batching the rows of concurrent requests. Needs the ``[serve]`` extra
(starlette, uvicorn); ``import skilldsl`` never imports this package."""
from __future__ import annotations

from .app import RewardServer, ServeConfig, create_app, serve
from .openrlhf import OpenRLHFMapping, resolve_mapping

__all__ = ["create_app", "serve", "RewardServer", "ServeConfig", "OpenRLHFMapping", "resolve_mapping"]
