"""A fault-injecting HTTP/1.1 reverse proxy for the object-storage tests.

It listens on 127.0.0.1 (an ephemeral port) and forwards every request to
one upstream server (the RADOS Gateway), byte for byte: the request line and
headers go out exactly as the client sent them, Host included, so an AWS
Signature V4 made for the proxy's address still verifies upstream (the
server checks the signature against the Host header it receives).  Keep-alive,
Content-Length and chunked bodies and `Expect: 100-continue` are supported.

Faults, each chosen per request with its own probability (at most one per
request; see KINDS):

  drop       close the client connection without a response, either before
             the request is forwarded or after the server has acted on it
  reset      the same, with a TCP RST (SO_LINGER 0) instead of a FIN
  error      answer 500 InternalError or 503 SlowDown (an S3 XML error
             body) without forwarding
  truncate   forward, then send the headers (full Content-Length) and only
             part of the body, and close (FIN or RST)
  delay      forward, then hold the response back (before the headers or in
             the middle of the body) for a random time
  corrupt    forward, then change one byte of the body, length unchanged
  cut_upload forward only part of a request body to the server, then close
             both connections: the server must not store the part
  corrupt_upload
             forward a request body with one byte changed: a server that
             checks x-amz-content-sha256 refuses it

truncate and corrupt apply to GET requests, cut_upload and corrupt_upload to
requests with a body; the others to every request.  `limits` caps how many
of a kind are injected (e.g. corrupt with rate 1 and limit 2: the first two
eligible responses), `max_faults_per_request` how often one request is.

Decisions come from a seeded random source: the nth request with a given
method and target, ids and times masked ("GET /bucket/*/data/*/*"), gets
the same decision for the same seed, so a failing run can be replayed.  A
replay is close, not exact: object ids and sizes differ from run to run, and
concurrent requests may arrive in another order.  The proxy counts the
faults it injected (`counts()`) and logs every request (`log()`), so a test
can require that each kind actually happened.

Standard library only.  Run it by hand with
`python3 faultproxy.py --upstream http://127.0.0.1:7480 --seed 1 --drop 0.05 ...`.
"""

import argparse
import collections
import random
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse

KINDS = ("drop", "reset", "error", "truncate", "delay", "corrupt", "cut_upload", "corrupt_upload")
GET_ONLY = ("truncate", "corrupt")
BODY_ONLY = ("cut_upload", "corrupt_upload")

ERRORS = (
    (500, "Internal Server Error", "InternalError", "We encountered an internal error. Please try again."),
    (503, "Service Unavailable", "SlowDown", "Please reduce your request rate."),
)

MAX_HEAD = 64 * 1024
MASK = re.compile(r"[0-9a-f]{8,}")


class Closed(Exception):
    """The peer closed the connection (or it broke) in the middle of a message."""


class Reader:
    """Buffered reads from a socket: lines, exact counts, and what is left."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def _fill(self):
        try:
            data = self.sock.recv(256 * 1024)
        except OSError as e:
            raise Closed(str(e))
        if not data:
            raise Closed("end of stream")
        self.buf += data

    def head(self, at_start=False):
        """Bytes up to and including the blank line that ends a message head.
        Returns None when the peer closed cleanly before sending anything
        (and `at_start`)."""
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                out = bytes(self.buf[:i + 4])
                del self.buf[:i + 4]
                return out
            if len(self.buf) > MAX_HEAD:
                raise Closed("message head too long")
            try:
                self._fill()
            except Closed:
                if at_start and not self.buf:
                    return None
                raise

    def exactly(self, n):
        while len(self.buf) < n:
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                out = bytes(self.buf[:i + 2])
                del self.buf[:i + 2]
                return out
            if len(self.buf) > MAX_HEAD:
                raise Closed("line too long")
            self._fill()

    def rest(self):
        """Everything until the peer closes (a body without framing)."""
        while True:
            try:
                self._fill()
            except Closed:
                out = bytes(self.buf)
                self.buf.clear()
                return out


class Message:
    """A parsed message head: start line, headers (names lower-cased; the
    raw bytes are kept for forwarding)."""

    def __init__(self, raw):
        self.raw = raw
        lines = raw[:-4].split(b"\r\n")
        self.start = lines[0].decode("latin-1")
        self.headers = collections.OrderedDict()
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            self.headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")

    def header(self, name):
        return self.headers.get(name, "")


def read_body(reader, msg, is_request, method=None, status=None):
    """The raw body bytes of a message as framed on the wire (chunked bodies
    keep their chunk framing), and whether the connection ends with it."""
    if not is_request:
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return b"", False
    te = msg.header("transfer-encoding").lower()
    if "chunked" in te:
        out = bytearray()
        while True:
            size_line = reader.line()
            out += size_line
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers, then the blank line
                    t = reader.line()
                    out += t
                    if t == b"\r\n":
                        return bytes(out), False
            out += reader.exactly(size + 2)
    cl = msg.header("content-length")
    if cl:
        return reader.exactly(int(cl)), False
    if is_request:
        return b"", False
    return reader.rest(), True


def send_all(sock, data):
    try:
        sock.sendall(data)
    except OSError as e:
        raise Closed(str(e))


def abort(sock, reset):
    """Close a socket; with `reset`, with an RST rather than a FIN."""
    try:
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class FaultProxy:
    """The proxy.  `rates` maps kinds of KINDS to probabilities (for each
    kind of request, the rates that apply to it add up to at most 1);
    `eligible(method, path)` limits which requests may be faulted (all by
    default); `limits` caps the number of faults of a kind;
    `max_faults_per_request` how often the same request (method, target,
    Range) is faulted, so that a client's retries get through.
    start() binds and serves in daemon threads; `url` is then
    http://127.0.0.1:PORT."""

    def __init__(self, upstream, seed, rates=None, eligible=None, limits=None, delay_range=(0.05, 0.4),
                 max_faults_per_request=None):
        u = urllib.parse.urlsplit(upstream)
        if u.scheme != "http" or not u.hostname:
            raise ValueError("upstream must be http://HOST:PORT, not %r" % upstream)
        self.upstream = (u.hostname, u.port or 80)
        self.seed = seed
        self.delay_range = delay_range
        self.max_faults_per_request = max_faults_per_request
        self.port = None
        self._lock = threading.Lock()
        self._counts = collections.Counter()
        self._reserved = collections.Counter()
        self._seen = collections.Counter()
        self._faulted = collections.Counter()
        self._log = []
        self._conns = set()
        self._listener = None
        self._stopping = False
        self.set_rates(rates or {}, eligible, limits)

    # --- configuration and results ---

    def set_rates(self, rates, eligible=None, limits=None):
        """Change the faults from the next request on (and reset the limits)."""
        unknown = (set(rates) | set(limits or {})) - set(KINDS)
        if unknown:
            raise ValueError("unknown fault kinds: %s" % ", ".join(sorted(unknown)))
        for excluded in (BODY_ONLY, GET_ONLY):
            if sum(v for k, v in rates.items() if k not in excluded) > 1.0 + 1e-9:
                raise ValueError("fault rates for one kind of request add up to more than 1")
        with self._lock:
            self._rates = dict(rates)
            self._eligible = eligible
            self._limits = dict(limits or {})
            self._reserved.clear()

    def counts(self):
        """{kind: faults injected} plus "requests" (every request received)."""
        with self._lock:
            return dict(self._counts)

    def log(self):
        """Every request: dicts with method, path, range, fault (or None),
        status (upstream's, when forwarded) and detail."""
        with self._lock:
            return list(self._log)

    def reset_counts(self):
        with self._lock:
            self._counts.clear()
            self._reserved.clear()
            self._log.clear()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    # --- life cycle ---

    def start(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        self._listener = s
        self.port = s.getsockname()[1]
        threading.Thread(target=self._accept_loop, name="faultproxy-accept", daemon=True).start()
        return self

    def stop(self):
        self._stopping = True
        if self._listener is not None:
            abort(self._listener, False)
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            abort(c, False)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _accept_loop(self):
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._conns.add(client)
            threading.Thread(target=self._serve, args=(client,), name="faultproxy-conn", daemon=True).start()

    # --- one client connection ---

    def _decide(self, method, target, path, request_id, has_body):
        with self._lock:
            self._counts["requests"] += 1
            kind_of_request = "%s %s" % (method, MASK.sub("*", target))
            n = self._seen[kind_of_request]
            self._seen[kind_of_request] += 1
            rng = random.Random("%d %s #%d" % (self.seed, kind_of_request, n))
            if self._eligible is not None and not self._eligible(method, path):
                return None, rng
            if self.max_faults_per_request is not None and self._faulted[request_id] >= self.max_faults_per_request:
                return None, rng
            x = rng.random()
            for kind in KINDS:
                if (kind in GET_ONLY and method != "GET") or (kind in BODY_ONLY and not has_body):
                    continue
                p = self._rates.get(kind, 0.0)
                if x < p:
                    if kind in self._limits and self._reserved[kind] >= self._limits[kind]:
                        return None, rng
                    self._reserved[kind] += 1
                    self._faulted[request_id] += 1
                    return kind, rng
                x -= p
            return None, rng

    def _record(self, entry, injected):
        with self._lock:
            if injected:
                self._counts[entry["fault"]] += 1
            else:
                if entry["fault"] and self._reserved[entry["fault"]] > 0:
                    self._reserved[entry["fault"]] -= 1  # chosen, but nothing to truncate or corrupt
                entry["fault"] = None
            self._log.append(entry)

    def _serve(self, client):
        reader = Reader(client)
        conn = {"up": None}  # the upstream connection, kept alive as the client's is
        try:
            while self._one_request(client, reader, conn):
                pass
        except Closed:
            pass
        finally:
            abort(client, False)
            if conn["up"] is not None:
                abort(conn["up"], False)
            with self._lock:
                self._conns.discard(client)

    def _one_request(self, client, reader, conn):
        """Serve one request; False when the client connection is done."""
        raw = reader.head(at_start=True)
        if raw is None:
            return False
        req = Message(raw)
        parts = req.start.split(" ")
        if len(parts) != 3:
            return False
        method, target = parts[0], parts[1]
        path = urllib.parse.urlsplit(target).path
        has_body = int(req.header("content-length") or "0") >= 2 or "chunked" in req.header(
            "transfer-encoding").lower()
        fault, rng = self._decide(method, target, path, "%s %s %s" % (method, target, req.header("range")),
                                  has_body)
        entry = {"method": method, "path": path, "target": target, "range": req.header("range"),
                 "fault": fault, "status": None, "detail": ""}
        client_closes = "close" in req.header("connection").lower()

        if fault in ("drop", "reset") and rng.random() < 0.5:
            entry["detail"] = "before forwarding"
            self._record(entry, True)
            abort(client, fault == "reset")
            return False
        if req.header("expect").lower() == "100-continue":
            # The client gets its 100 from us; the server's is skipped.
            send_all(client, b"HTTP/1.1 100 Continue\r\n\r\n")
        body, _ = read_body(reader, req, True)

        if fault == "error":
            status, reason, code, message = ERRORS[rng.randrange(len(ERRORS))]
            entry["status"] = status
            entry["detail"] = code
            self._record(entry, True)
            send_all(client, error_response(status, reason, code, message, path, method == "HEAD"))
            return not client_closes

        if fault == "cut_upload":
            if conn["up"] is None:
                conn["up"] = self._connect()
            k = rng.randrange(1, len(body))
            try:
                send_all(conn["up"], raw + body[:k])
            except Closed:
                pass
            entry["detail"] = "sent %d of %d body bytes, then reset both connections" % (k, len(body))
            self._record(entry, True)
            abort(conn["up"], True)
            conn["up"] = None
            abort(client, True)
            return False

        if fault == "corrupt_upload":
            i = rng.randrange(len(body))
            b = bytearray(body)
            b[i] ^= rng.randrange(1, 256)
            body = bytes(b)
            entry["detail"] = "byte %d of %d" % (i, len(body))
        conn["up"], resp, resp_body, up_closes = self._forward(conn["up"], raw, body, method)
        entry["status"] = int(resp.start.split(" ")[1])
        head_out = resp.raw

        if fault in ("drop", "reset"):
            entry["detail"] = "after forwarding (the server answered %d)" % entry["status"]
            self._record(entry, True)
            abort(client, fault == "reset")
            return False
        if fault == "truncate" and resp_body:
            k = rng.randrange(0, len(resp_body))
            how = "reset" if rng.random() < 0.5 else "closed"
            entry["detail"] = "sent %d of %d body bytes, then %s" % (k, len(resp_body), how)
            self._record(entry, True)
            send_all(client, head_out + resp_body[:k])
            abort(client, how == "reset")
            return False
        framed = bool(resp.header("content-length")) and "chunked" not in resp.header("transfer-encoding").lower()
        if fault == "corrupt" and framed and resp_body:
            i = rng.randrange(len(resp_body))
            b = bytearray(resp_body)
            b[i] ^= rng.randrange(1, 256)
            resp_body = bytes(b)
            entry["detail"] = "byte %d of %d" % (i, len(resp_body))
            self._record(entry, True)
        elif fault == "delay":
            t = rng.uniform(*self.delay_range)
            mid = len(resp_body) > 1 and rng.random() < 0.5
            entry["detail"] = "%.2fs %s" % (t, "in the middle of the body" if mid else "before the headers")
            self._record(entry, True)
            if mid:
                k = len(resp_body) // 2
                send_all(client, head_out + resp_body[:k])
                head_out, resp_body = b"", resp_body[k:]
            time.sleep(t)
        else:
            if fault == "corrupt_upload":
                entry["detail"] += " (the server answered %d)" % entry["status"]
            self._record(entry, fault == "corrupt_upload")
        send_all(client, head_out + resp_body)
        if up_closes:
            abort(conn["up"], False)
            conn["up"] = None
            return False
        return not (client_closes or "close" in resp.header("connection").lower())

    def _connect(self):
        s = socket.create_connection(self.upstream, timeout=120)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def _forward(self, up, raw, body, method):
        """Send the request upstream (on the kept-alive connection, or a new
        one when that was closed meanwhile) and read the final response.
        Returns (connection, head, raw body, whether the connection ends)."""
        for attempt in (0, 1):
            fresh = up is None
            if fresh:
                up = self._connect()
            ureader = Reader(up)
            try:
                send_all(up, raw + body)
                while True:
                    rhead = ureader.head()
                    resp = Message(rhead)
                    status = int(resp.start.split(" ")[1])
                    if status >= 200:
                        break  # 1xx (100 Continue): the client had its own
                resp_body, closes = read_body(ureader, resp, False, method, status)
                if ureader.buf:
                    raise Closed("upstream sent more than one response")
                return up, resp, resp_body, closes or "close" in resp.header("connection").lower()
            except Closed:
                abort(up, False)
                up = None
                if fresh or attempt == 1:
                    raise
        raise AssertionError("unreachable")


def error_response(status, reason, code, message, resource, head_only):
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
            '<Resource>%s</Resource><RequestId>faultproxy</RequestId></Error>' % (code, message, resource)).encode()
    head = ("HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n"
            "x-amz-request-id: faultproxy\r\n\r\n" % (status, reason, len(body))).encode()
    return head if head_only else head + body


def main():
    ap = argparse.ArgumentParser(description="Fault-injecting HTTP/1.1 reverse proxy (for tests).")
    ap.add_argument("--upstream", required=True, help="http://HOST:PORT")
    ap.add_argument("--seed", type=int, default=None)
    for k in KINDS:
        ap.add_argument("--" + k.replace("_", "-"), type=float, default=0.0, help="probability of %s" % k)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1, 2**31)
    rates = {k: getattr(a, k) for k in KINDS if getattr(a, k)}
    p = FaultProxy(a.upstream, seed, rates).start()
    print("faultproxy on %s -> %s:%d, seed %d" % (p.url, p.upstream[0], p.upstream[1], seed), flush=True)
    try:
        while True:
            time.sleep(5)
            print(p.counts(), flush=True)
    except KeyboardInterrupt:
        p.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
