"""What the replayer's `--ready-file` holds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.replay.server import ReplayServer


def ready_info(server: ReplayServer) -> dict[str, Any]:
    """What `--ready-file` holds: the URL, each endpoint's URL and, in proxy mode, the proxy and CA bundle."""
    info: dict[str, Any] = {
        "url": server.base_url,
        "port": server.port,
        "endpoints": {name: server.url(name) for name in server.recordings},
    }
    if server.proxy_url is not None:
        info["proxy"] = server.proxy_url
        info["ca_bundle"] = str(server.ca_bundle)
    return info
