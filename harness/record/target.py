"""What the recorder connects to: an endpoint name, path or URL, with its checked parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from harness.errors import ParameterError, UnknownEndpointError, UsageError
from harness.model import Endpoint, resolve_endpoint
from harness.model.params import check_query, parse_query
from harness.record.redact import secret_param

__all__ = ["Target", "resolve_target"]


@dataclass(frozen=True)
class Target:
    """A resolved stream: its endpoint, its URL (no query) and its checked parameters."""

    endpoint: Endpoint
    url: str
    params: Mapping[str, str]


def resolve_target(target: str, params: Mapping[str, str] | None = None, *, base_url: str = "https://api.x.com",
                   endpoint: str | None = None) -> Target:  # fmt: skip
    """An endpoint name, path or full URL, with `params`, checked by the endpoint model.

    `endpoint` names the stream when a URL's path is not the endpoint's own (a proxy).
    """
    merged = dict(params or {})
    if "://" not in target:
        e = resolve_endpoint(endpoint or target)
        return Target(e, base_url.rstrip("/") + e.path, check_query(e, merged))
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"expected an http(s) URL, an endpoint name or a path, found {target!r}")
    for name, value in parse_query(parts.query).items():
        if merged.setdefault(name, value) != value:
            raise ParameterError(
                f"{name}: given in the URL ({value!r}) and as --param ({merged[name]!r})", parameter=name
            )
    try:
        e = resolve_endpoint(endpoint or parts.path)
    except UnknownEndpointError as exc:
        raise UnknownEndpointError(f"{exc} (for a URL with another path, name the stream with --endpoint)") from None
    url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    # a credential for a gateway in front of X (`?access_token=`) is no X parameter: pass it on
    check_query(e, {k: v for k, v in merged.items() if not secret_param(k)})
    return Target(e, url, merged)
