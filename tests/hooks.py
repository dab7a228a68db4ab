"""Hooks a fault test holds a job by, from outside the job: nothing in netlab knows of them.

`HoldingProxy` is a loopback HTTP proxy in front of a tracking server (`mlflow server`). A sweep
whose jobs log through the proxy's URI runs as it would against the server, except for one run,
the victim: the first run whose tags and params (as its requests write them) satisfy `choose`.
Once that run is chosen, the proxy holds every later request that names it (its dataset, metrics,
files, its end) until the test calls `release()`, or until the client that sent the request is
gone (its process killed, its node stopped, a signal that ended the request): that request is then
dropped, never forwarded, as a network that lost it would, and holding ends. So a test stops the
victim's process or node while the victim provably has not ended, however long its training took,
instead of racing the clock against it.
"""

import http.client
import json
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailer", "transfer-encoding", "upgrade", "content-length"}


def client_gone(sock):
    """Whether the peer of a connected socket has closed it (or reset it)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class HoldingProxy:
    """A threaded loopback HTTP proxy to `upstream` (http://host:port) that holds the requests of
    the first run `choose(run)` accepts (run.tags, run.params: dicts written so far). Use it as a
    context manager; `uri` is what the jobs log to."""

    def __init__(self, upstream, choose):
        target = urlsplit(upstream)
        self.upstream = (target.hostname, target.port)
        self.choose = choose
        self.runs = {}  # run id -> SimpleNamespace(tags, params)
        self.victim = None
        self.lock = threading.Lock()
        self.held = threading.Event()  # a request of the victim is being held
        self.released = threading.Event()  # holding has ended
        self.dropped = threading.Event()  # a held request's client went away: it was dropped
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.uri = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.release()
        self.server.shutdown()
        self.server.server_close()
        return False

    def release(self):
        """End holding: held requests whose clients are still there are forwarded."""
        self.released.set()

    def wait_held(self, timeout, proc=None):
        """Wait until a request of the victim is held; returns the victim's run id. Fails when
        proc (the sweep) ends first or after timeout s (a deadline, not a race)."""
        deadline = time.monotonic() + timeout
        while not self.held.wait(0.2):
            assert proc is None or proc.poll() is None, "the sweep ended before a run was held"
            if time.monotonic() > deadline:
                pytest.fail(f"no request of a chosen run held after {timeout} s")
        return self.victim

    # ------------------------------------------------------------------ bookkeeping
    def _names_victim(self, path, body):
        victim = self.victim
        return victim is not None and (victim in path or victim.encode() in body)

    def _observe(self, path, body, response):
        """Note the tags and params a forwarded request wrote; choose the victim."""
        endpoint = urlsplit(path).path
        try:
            request = json.loads(body) if body else {}
        except ValueError:
            return
        if not isinstance(request, dict):
            return
        if endpoint.endswith("/runs/create"):
            try:
                run_id = json.loads(response)["run"]["info"]["run_id"]
            except (ValueError, KeyError, TypeError):
                return
        else:
            run_id = request.get("run_id") or request.get("run_uuid")
            if run_id is None:
                run_id = (parse_qs(urlsplit(path).query).get("run_id") or [None])[0]
        if not run_id:
            return
        with self.lock:
            run = self.runs.setdefault(run_id, SimpleNamespace(tags={}, params={}))
            for item in request.get("tags") or []:
                run.tags[item.get("key")] = item.get("value")
            for item in request.get("params") or []:
                run.params[item.get("key")] = item.get("value")
            if endpoint.endswith("/runs/set-tag"):
                run.tags[request.get("key")] = request.get("value")
            if self.victim is None and self.choose(run):
                self.victim = run_id

    def _hold(self, sock):
        """Hold a request of the victim: True to forward it, False when its client is gone."""
        self.held.set()
        while not self.released.wait(0.05):
            if client_gone(sock):
                self.dropped.set()
                self.released.set()  # the victim is gone with its client: nothing more to hold
                return False
        return not client_gone(sock)

    def _forward(self, method, path, headers, body):
        conn = http.client.HTTPConnection(*self.upstream, timeout=600)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.reason, response.getheaders(), response.read()
        finally:
            conn.close()

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet: the test's output is the sweep's
                pass

            def _body(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _proxy(self):
                body = self._body()
                if proxy._names_victim(self.path, body) and not proxy.released.is_set():
                    if not proxy._hold(self.connection):
                        self.close_connection = True
                        return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                headers["Content-Length"] = str(len(body))
                status, reason, out_headers, data = proxy._forward(self.command, self.path,
                                                                   headers, body)
                proxy._observe(self.path, body, data)
                self.send_response_only(status, reason)
                for key, value in out_headers:
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _proxy

        return Handler

