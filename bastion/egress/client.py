"""``OutboundClient``: the one way Bastion sends HTTP requests out (NET-1, ENC-1, API-3).

Every request, whichever httpx method sends it, passes ``_GuardedTransport``:

1. the URL is checked (scheme, userinfo, host spelling, port, plain HTTP);
2. the caller's allow-list, when it gives one, must match, before any lookup;
3. the host is resolved once and every address it resolves to is checked;
4. the connection goes to a checked address (the URL's host is swapped for it),
   while the ``Host`` header, TLS SNI and certificate check keep the original
   name. Nothing resolves the name a second time, so a DNS answer that changes
   between the check and the connect (rebinding) changes nothing.

Connections are not reused: httpx pools connections by the URL's host, here an
address, and a connection verified for one name must never carry a request for
another name that happens to share the address.

``fetch`` adds what a step needs on top: redirects (off unless asked for, each
hop checked like the first), a size cap counted after decompression, and typed
errors whose messages name the host, never the path or the query.
"""

from __future__ import annotations

import asyncio
import codecs
import ssl
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from bastion.egress.addresses import IPAddress
from bastion.egress.decoding import ACCEPT_ENCODING, read_capped
from bastion.egress.errors import EgressFailed, Failure
from bastion.egress.hosts import AllowList
from bastion.egress.policy import Policy, Target
from bastion.egress.ports import Resolver, SystemResolver
from bastion.egress.tls import tls_context
from bastion.settings import Settings

ALLOWED_HOSTS = "bastion.allowed_hosts"  # request extension: the caller's AllowList
ADDRESS = "bastion.address"  # response extension: the checked address connected to
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# What a request keeps when a redirect sends it to another origin: nothing that
# could authenticate it there (Authorization, API-key headers, cookies).
_KEPT_ACROSS_ORIGINS = frozenset(
    {"accept", "accept-encoding", "accept-language", "content-type", "idempotency-key",
     "user-agent"}
)  # fmt: skip


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: httpx.Headers
    body: bytes  # decoded (decompressed), at most the caller's max_bytes
    encoding: str  # the charset the response declares, or utf-8
    address: str  # the checked address the final response came from
    redirects: int = 0  # redirect hops followed


class _GuardedTransport(httpx.AsyncBaseTransport):
    def __init__(self, policy: Policy, resolver: Resolver, inner: httpx.AsyncBaseTransport):
        self._policy, self._resolver, self._inner = policy, resolver, inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        target = self._policy.check(request.url)
        allowed = request.extensions.get(ALLOWED_HOSTS)
        if allowed is not None:
            allowed.check(target)
        addresses = await self._addresses(target, request)
        return await self._connect(request, target, addresses)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def _addresses(self, target: Target, request: httpx.Request) -> list[IPAddress]:
        if target.ip is not None:
            addresses = [target.ip]
        else:
            try:
                async with asyncio.timeout(request.extensions.get("timeout", {}).get("connect")):
                    addresses = await self._resolver.resolve(target.host)
            except TimeoutError:
                message = f"{target.label}: name resolution timed out"
                raise EgressFailed(Failure.TIMEOUT, message) from None
        # Every answer, not just the one used: a name that resolves to an internal
        # address at all is refused, whatever else it resolves to.
        for ip in addresses:
            self._policy.check_address(target, ip)
        return addresses

    async def _connect(
        self, request: httpx.Request, target: Target, addresses: list[IPAddress]
    ) -> httpx.Response:
        failure: httpx.ConnectError | None = None
        for ip in addresses:  # all checked; the next one only if this one cannot be reached
            try:
                response = await self._inner.handle_async_request(_pinned(request, target, ip))
            except httpx.ConnectError as exc:
                if tls_error(exc) is not None:
                    raise
                failure = exc
                continue
            response.extensions = {**response.extensions, ADDRESS: str(ip)}
            return response
        assert failure is not None
        raise failure


def _pinned(request: httpx.Request, target: Target, ip: IPAddress) -> httpx.Request:
    headers = request.headers.copy()
    headers["Host"] = request.url.netloc.decode("ascii")
    extensions = dict(request.extensions)
    if target.scheme == "https" and target.ip is None:
        extensions["sni_hostname"] = target.host  # SNI and certificate check: the name
    url = request.url.copy_with(host=str(ip))
    return httpx.Request(
        request.method, url, headers=headers, stream=request.stream, extensions=extensions
    )


def tls_error(exc: BaseException) -> ssl.SSLError | None:
    """The TLS error behind an httpx connection error, if that is what it was."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


class OutboundClient(httpx.AsyncClient):
    """An httpx client whose every request passes the egress guard.

    It is an ``httpx.AsyncClient`` so that it can stand wherever one is expected
    (the engine hands it to every step as ``StepContext.http``); httpx's own
    methods (``get``, ``stream``, ``send``) are guarded as well, through the
    transport. Steps use ``fetch``. Cookies are never kept: one client serves
    every automation, and one automation's session must not ride along with
    another's requests. Proxies and certificates from the environment are
    ignored (``trust_env=False``).

    ``resolver`` defaults to the system's; ``transport`` (for tests) replaces the
    network transport underneath the guard.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        resolver: Resolver | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.policy = Policy.from_settings(settings)
        self.tls = tls_context(settings)
        inner = transport or httpx.AsyncHTTPTransport(
            verify=self.tls, trust_env=False, limits=httpx.Limits(max_keepalive_connections=0)
        )
        super().__init__(
            transport=_GuardedTransport(self.policy, resolver or SystemResolver(), inner),
            timeout=httpx.Timeout(
                settings.step_timeout_seconds, connect=settings.egress_connect_timeout_seconds
            ),
            headers={"Accept-Encoding": ACCEPT_ENCODING, "Connection": "close"},
            cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
            follow_redirects=False,
            trust_env=False,
        )

    async def fetch(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        headers: Mapping[str, str] | None = None,
        params: Sequence[tuple[str, str]] | None = None,
        content: bytes | None = None,
        json: Any = None,
        timeout: float | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        allowed_hosts: AllowList | None = None,
        max_redirects: int = 0,
    ) -> OutboundResponse:
        """Send one request and read its answer.

        ``params`` are added to the URL's query; ``timeout`` (seconds) bounds each
        network operation, the client's default when None; ``allowed_hosts``
        restricts every hop to an automation's allow-list; up to
        ``max_redirects`` redirects are followed, each checked like the first
        request (with 0, a redirect is returned as it is).

        Returns the final OutboundResponse. Raises EgressRefused (nothing was sent
        to the refused hop) and EgressFailed (``timeout``, ``connection_failed``,
        ``tls_failed``, ``dns_failed``, ``response_too_large``,
        ``invalid_response``, ``too_many_redirects``).
        """
        target = self.policy.check(url)
        if allowed_hosts is not None:
            allowed_hosts.check(target)  # also done by the transport; here it costs no lookup
        request = self.build_request(
            method, target.url, headers=headers, params=None if params is None else tuple(params),
            content=content, json=json,
            timeout=self._call_timeout(timeout),
            extensions={} if allowed_hosts is None else {ALLOWED_HOSTS: allowed_hosts},
        )  # fmt: skip
        for hops in range(max_redirects + 1):
            where = f"{request.method} {target.label}"
            with _mapped(where):
                response = await self.send(request, stream=True, follow_redirects=False)
                try:
                    if max_redirects and response.has_redirect_location:
                        request, target = self._next_hop(request, response)
                        continue
                    body = await read_capped(
                        response.aiter_raw(), response.headers, max_bytes, where
                    )
                finally:
                    await response.aclose()
            address = str(response.extensions.get(ADDRESS, ""))
            status, encoding = response.status_code, _charset(response)
            return OutboundResponse(status, response.headers, body, encoding, address, hops)
        raise EgressFailed(
            Failure.TOO_MANY_REDIRECTS, f"{target.label}: more than {max_redirects} redirects"
        )

    def _call_timeout(self, seconds: float | None) -> httpx.Timeout:
        if seconds is None:
            return self.timeout
        return httpx.Timeout(seconds, connect=min(seconds, self.timeout.connect or seconds))

    def _next_hop(
        self, request: httpx.Request, response: httpx.Response
    ) -> tuple[httpx.Request, Target]:
        # httpx has parsed the location already (see ``_mapped``), so this join succeeds.
        url = request.url.join(response.headers["location"])
        target = self.policy.check(url)
        allowed = request.extensions.get(ALLOWED_HOSTS)
        if allowed is not None:
            allowed.check(target)
        status, method = response.status_code, request.method
        if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
            method = "GET"  # as browsers do; 307 and 308 keep the method and the body
        keep_body = status in (307, 308)
        headers = _carried_headers(request, url, keep_body)
        following = self.build_request(
            method, url, headers=headers, content=request.content if keep_body else None,
            extensions=dict(request.extensions),
        )  # fmt: skip
        return following, target


def _carried_headers(request: httpx.Request, url: httpx.URL, keep_body: bool) -> httpx.Headers:
    headers = request.headers.copy()
    for name in ("host", "content-length", "transfer-encoding"):
        headers.pop(name, None)
    if not keep_body:
        headers.pop("content-type", None)
    origin = (url.scheme, url.host, url.port)
    if origin != (request.url.scheme, request.url.host, request.url.port):
        for name in [n for n in headers if n.lower() not in _KEPT_ACROSS_ORIGINS]:
            headers.pop(name)
    return headers


def _charset(response: httpx.Response) -> str:
    charset = response.charset_encoding
    if charset:
        try:
            return codecs.lookup(charset).name
        except LookupError:
            pass
    return "utf-8"


@contextmanager
def _mapped(where: str) -> Iterator[None]:
    """httpx's exceptions as EgressFailed; ``from None``: they carry the full URL."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise EgressFailed(Failure.TIMEOUT, f"{where} timed out ({type(exc).__name__})") from None
    except httpx.RemoteProtocolError as exc:
        if str(exc).startswith("Invalid URL in location header"):
            # httpx parses a redirect's Location even when not following it: an
            # unparseable one (e.g. "http://0177.0.0.1/") is a bad answer, not a network error.
            message = f"{where}: the response's redirect location is not a valid URL"
            raise EgressFailed(Failure.INVALID_RESPONSE, message) from None
        raise EgressFailed(
            Failure.CONNECTION_FAILED, f"{where} failed ({type(exc).__name__})"
        ) from None
    except httpx.TransportError as exc:
        tls = tls_error(exc)
        if tls is not None:
            why = getattr(tls, "verify_message", None) or tls.reason or type(tls).__name__
            raise EgressFailed(Failure.TLS_FAILED, f"{where}: TLS failed ({why})") from None
        message = f"{where} failed ({type(exc).__name__})"
        raise EgressFailed(Failure.CONNECTION_FAILED, message) from None
