"""The replayer's TLS-intercepting proxy mode, for clients that hard-code api.x.com or api.twitter.com.

A client given `HTTPS_PROXY=http://127.0.0.1:PORT` sends `CONNECT api.twitter.com:443`;
the replayer answers 200 and speaks TLS itself, with a certificate for both hosts from a
CA made for the purpose (the client trusts it through `REQUESTS_CA_BUNDLE`, never the
system store). Nothing is forwarded anywhere: other hosts are refused.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import tempfile
from pathlib import Path

# Imported with the module, not when proxy mode starts: cryptography cannot be imported twice in
# one process, and a test runner that restores sys.modules between runs would make that happen.
import trustme

from harness._wire import Request
from harness.replay._http_server import LoopbackHTTPServer, problem

HOSTS = ("api.x.com", "api.twitter.com")
ESTABLISHED = b"HTTP/1.1 200 Connection established\r\n\r\n"


class Interceptor:
    """A throwaway CA, a certificate for `HOSTS` signed by it, and the TLS side of a CONNECT."""

    def __init__(self, hosts: tuple[str, ...] = HOSTS) -> None:
        self.hosts = hosts
        ca = trustme.CA(organization_name="x-stream harness replay (test CA)")
        cert = ca.issue_cert(*hosts)
        self.directory = Path(tempfile.mkdtemp(prefix="x-stream-replay-ca-"))
        self.ca_bundle = self.directory / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_bundle))
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self.context)

    def host_of(self, request: Request) -> str:
        """The host a CONNECT asks for (its target is `host:port`)."""
        host, _, _ = request.target.rpartition(":")
        return (host or request.target).strip("[]").lower()

    def allows(self, request: Request) -> bool:
        return self.host_of(request) in self.hosts

    def accept(self, sock: socket.socket, timeout: float) -> ssl.SSLSocket:
        """Answer the CONNECT and take the TLS handshake; the returned socket carries the request."""
        sock.sendall(ESTABLISHED)
        sock.settimeout(timeout)
        return self.context.wrap_socket(sock, server_side=True)

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def connect_refusal(interceptor: Interceptor | None, request: Request) -> tuple[int, bytes] | None:
    """Why a CONNECT is refused (status and Problem body), or None: it may come through."""
    if interceptor is None:
        detail = "CONNECT: this replay server is no proxy (start it in proxy mode: --proxy)"
        return 405, problem(405, "Method Not Allowed", detail)
    if not interceptor.allows(request):
        detail = f"{request.target}: this proxy intercepts {' and '.join(interceptor.hosts)} only"
        return 403, problem(403, "Forbidden", detail)
    return None


def client_env(proxy_url: str, ca_bundle: Path) -> dict[str, str | None]:
    """The environment an unmodified client needs to come through the proxy: values to set,
    and None for the variables to unset that would get in the way."""
    return {
        "HTTPS_PROXY": proxy_url, "https_proxy": proxy_url, "REQUESTS_CA_BUNDLE": str(ca_bundle),
        "NO_PROXY": None, "no_proxy": None, "CURL_CA_BUNDLE": None,
    }  # fmt: skip


class Addresses:
    """Where a loopback server (`_http`, with the TLS `_interceptor` in proxy mode) is reached:
    shared by the replay and the plugin's recording proxy."""

    _http: LoopbackHTTPServer
    _interceptor: Interceptor | None

    @property
    def base_url(self) -> str:
        return self._http.base_url

    @property
    def proxy_url(self) -> str | None:
        """What to put in HTTPS_PROXY (proxy mode): this same server."""
        return self._http.base_url if self._interceptor else None

    @property
    def ca_bundle(self) -> Path | None:
        """The test CA's certificate, for REQUESTS_CA_BUNDLE (proxy mode)."""
        return self._interceptor.ca_bundle if self._interceptor else None
