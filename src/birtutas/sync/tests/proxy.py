"""A TCP proxy on 127.0.0.1 in front of the central server, for tests and benchmarks of sync over a link.

It passes HTTP exchanges through (one request per connection, as `urllib` makes them) and, on demand:
cuts a response after N bytes (a link lost in the middle of a chunk), cuts a request after N bytes,
swallows a request whole (the sender's bytes are kept, the server never sees them), throttles every
byte to a given rate, or refuses connections (the link is down). Every exchange is recorded with the
request's bytes, so a test can replay exactly what a node sent.

Nothing is mocked: the bytes on both sides are the real client's and the real server's; the proxy only
forwards them, fewer of them, or later. Threads and blocking sockets; the accept loop wakes on a
socketpair, so stopping it never waits on a timeout.
"""

from __future__ import annotations

import contextlib
import re
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field

HEAD_LIMIT = 64 * 1024
PIECE = 16 * 1024


@dataclass
class Exchange:
    """One connection: the request as the client sent it, and what came back through the proxy."""

    method: str = ""
    path: str = ""
    request: bytes = b""  # head and body, as received from the client
    body: bytes = b""
    status: int | None = None  # the upstream's status, if its first line came through
    response_bytes: int = 0  # bytes forwarded to the client
    cut: str = ""  # "", "request", "response", "swallowed", "down", "upstream refused"
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def line(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Rule:
    """What to do to `times` exchanges whose request line ("METHOD /path?query") matches `pattern`, from
    the `nth` such exchange on."""

    pattern: re.Pattern
    action: str  # "cut_response", "cut_request", "swallow"
    after: int = 0
    nth: int = 1
    times: int = 1
    seen: int = 0
    fired: int = 0


class Proxy:
    def __init__(self, upstream_port: int, *, upstream_host: str = "127.0.0.1", port: int = 0):
        self.upstream = (upstream_host, upstream_port)
        self.rules: list[Rule] = []
        self.exchanges: list[Exchange] = []
        self.rate: float | None = None  # bytes per second, both directions together; None: as fast as it goes
        self._lock = threading.Lock()
        self._next_free = 0.0
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread: threading.Thread | None = None
        self.port = port
        self.up()

    # -- the link

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def up(self) -> None:
        """Listen (again, on the same port): the link is back."""
        if self._listener is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._thread = threading.Thread(target=self._accept_loop, args=(listener,), daemon=True)
        self._thread.start()

    def down(self) -> None:
        """The link is down: connections are refused, and the ones open now are cut."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        self._wake_w.send(b"x")
        if self._thread is not None:
            self._thread.join()
        listener.close()
        with self._lock:
            open_now = list(self._open)
        for sock in open_now:
            _close(sock)

    def close(self) -> None:
        self.down()
        _close(self._wake_r)
        _close(self._wake_w)

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- faults

    def cut_response(self, pattern: str, after: int, *, nth: int = 1, times: int = 1) -> Rule:
        """Forward only the first `after` bytes of the response to a matching request, then cut the link."""
        return self._rule(pattern, "cut_response", after, nth, times)

    def cut_request(self, pattern: str, after: int, *, nth: int = 1, times: int = 1) -> Rule:
        """Forward only the first `after` bytes of a matching request to the server, then cut the link."""
        return self._rule(pattern, "cut_request", after, nth, times)

    def swallow(self, pattern: str, *, nth: int = 1, times: int = 1) -> Rule:
        """Take a matching request whole, keep it in `exchanges`, cut the link: the server never sees it."""
        return self._rule(pattern, "swallow", 0, nth, times)

    def throttle(self, rate: float | None) -> None:
        """At most `rate` bytes per second through the proxy (both directions together); None lifts it."""
        with self._lock:
            self.rate = rate
            self._next_free = time.monotonic()

    def clear(self) -> None:
        """No more faults; the record of exchanges is kept."""
        with self._lock:
            self.rules.clear()
            self.rate = None

    def _rule(self, pattern: str, action: str, after: int, nth: int, times: int) -> Rule:
        rule = Rule(re.compile(pattern), action, after, nth, times)
        with self._lock:
            self.rules.append(rule)
        return rule

    def _take_rule(self, line: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.fired < rule.times and rule.pattern.search(line):
                    rule.seen += 1
                    if rule.seen >= rule.nth:
                        rule.fired += 1
                        return rule
        return None

    def matching(self, pattern: str) -> list[Exchange]:
        """The recorded exchanges whose request line matches `pattern`, in the order they began."""
        found = re.compile(pattern)
        return [e for e in list(self.exchanges) if found.search(e.line)]

    # -- the work

    def _accept_loop(self, listener: socket.socket) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while True:
                ready = {key.fileobj for key, _ in selector.select()}
                if self._wake_r in ready:
                    self._wake_r.recv(64)
                    return
                try:
                    client, _address = listener.accept()
                except OSError:
                    return
                threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _track(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._open.add(sock)
        return sock

    def _serve(self, client: socket.socket) -> None:
        exchange = Exchange()
        with self._lock:
            self.exchanges.append(exchange)
        self._track(client)
        upstream = None
        try:
            if not self._read_request(client, exchange):
                return
            rule = self._take_rule(exchange.line)
            if rule is not None and rule.action == "swallow":
                exchange.cut = "swallowed"
                return
            try:
                upstream = self._track(socket.create_connection(self.upstream, timeout=30))
            except OSError:
                exchange.cut = "upstream refused"
                return
            if rule is not None and rule.action == "cut_request":
                self._send(upstream, exchange.request[: rule.after])
                exchange.cut = "request"
                return
            self._send(upstream, exchange.request)
            limit = rule.after if rule is not None and rule.action == "cut_response" else None
            self._pump_response(upstream, client, exchange, limit)
        except OSError:
            if not exchange.cut:
                exchange.cut = "down"
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    with self._lock:
                        self._open.discard(sock)
                    _close(sock)
            exchange.done.set()

    def _read_request(self, client: socket.socket, exchange: Exchange) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            piece = client.recv(PIECE)
            if not piece:
                return False
            data += piece
            if len(data) > HEAD_LIMIT:
                return False
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        exchange.method, exchange.path = parts[0], parts[1] if len(parts) > 1 else ""
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip() or 0)
        while len(body) < length:
            piece = client.recv(min(PIECE, length - len(body)))
            if not piece:
                break
            body += piece
        exchange.body = body
        exchange.request = head + b"\r\n\r\n" + body
        return True

    def _pump_response(self, upstream, client, exchange: Exchange, limit: int | None) -> None:
        first = b""
        while True:
            piece = upstream.recv(PIECE)
            if not piece:
                return
            if exchange.status is None:
                first += piece
                match = re.match(rb"HTTP/\d\.\d (\d{3})", first)
                if match:
                    exchange.status = int(match.group(1))
            if limit is not None and exchange.response_bytes + len(piece) >= limit:
                self._send(client, piece[: limit - exchange.response_bytes])
                exchange.response_bytes = limit
                exchange.cut = "response"
                return
            self._send(client, piece)
            exchange.response_bytes += len(piece)

    def _send(self, sock: socket.socket, data: bytes) -> None:
        if not data:
            return
        rate = self.rate
        if not rate:
            sock.sendall(data)
            return
        step = max(1, int(rate / 50))  # about 20 ms of the link per piece: smooth, and no long sleeps
        for start in range(0, len(data), step):
            piece = data[start : start + step]
            with self._lock:
                now = time.monotonic()
                begin = max(now, self._next_free)
                self._next_free = begin + len(piece) / rate
                wait = self._next_free - now
            if wait > 0:
                time.sleep(wait)
            sock.sendall(piece)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
