#!/usr/bin/env python3
"""Loopback servers for the t_http_* tests (Python 3 standard library only).

Prints one line, then serves until its stdin closes (so it dies with the test):

    READY http=<port> junk=<port> empty=<port> closed=<port> tls=<port>

http    real HTTP/1.1 (keep-alive) with the endpoints below
junk    a raw TCP responder: reads a little, writes bytes that are not HTTP, closes
empty   a raw TCP responder that closes without writing
closed  a port that was bound and released: connecting is refused
tls     the same endpoints over TLS with a self-signed certificate (selfsigned.pem)

Endpoints:
    GET  /etag            200 "hello etag" with ETag "v1"; 304 when If-None-Match is "v1"
    GET  /etag-odd        200 with the header spelled `eTaG` and padded with blanks
    GET  /noetag          200 without an ETag
    GET  /auth            200 "authorized" for "Authorization: Bearer sekret", else 401
    GET  /500             500 "boom"
    GET  /redirect        302 to /etag
    GET  /hang?s=S        sleeps S seconds before answering
    GET  /big?n=N         N bytes with Content-Length
    GET  /big-chunked?n=N N bytes chunked (no Content-Length)
    GET  /n?i=I&ms=M      waits M ms, answers I
    POST /echo            answers the request body (415 unless Content-Type is application/json)
    POST /post-meta       answers "ct=<Content-Type> expect=<Expect or -> len=<body bytes>"
"""

import os
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256   # 50 concurrent connects must not overflow the backlog

    def handle_error(self, request, client_address):
        pass                   # clients time out and cancel on purpose; keep stderr quiet


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True   # headers and body go out in separate writes

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body=b"", headers=()):
        self.send_response(code)
        for name, value in headers:
            self.send_header(name, value)
        if code != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if code != 304:
            self.wfile.write(body)

    def query(self):
        parts = urlsplit(self.path)
        return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}

    def do_GET(self):
        path, q = self.query()
        if path == "/etag":
            if self.headers.get("If-None-Match") == '"v1"':
                self.reply(304, headers=[("ETag", '"v1"')])
            else:
                self.reply(200, b"hello etag", [("ETag", '"v1"')])
        elif path == "/etag-odd":
            self.reply(200, b"odd", [("eTaG", '  \tW/"x y"  ')])
        elif path == "/noetag":
            self.reply(200, b"plain")
        elif path == "/auth":
            if self.headers.get("Authorization") == "Bearer sekret":
                self.reply(200, b"authorized")
            else:
                self.reply(401, b"denied", [("WWW-Authenticate", "Bearer")])
        elif path == "/500":
            self.reply(500, b"boom")
        elif path == "/redirect":
            self.reply(302, b"moved", [("Location", "/etag")])
        elif path == "/hang":
            time.sleep(float(q.get("s", "10")))
            self.reply(200, b"late")
        elif path == "/big":
            self.reply(200, b"x" * int(q["n"]))
        elif path == "/big-chunked":
            n = int(q["n"])
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while n > 0:
                k = min(n, 700)
                self.wfile.write(b"%x\r\n" % k + b"y" * k + b"\r\n")
                n -= k
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/n":
            time.sleep(int(q.get("ms", "0")) / 1000.0)
            self.reply(200, q["i"].encode())
        else:
            self.reply(404, b"no such endpoint")

    def do_POST(self):
        path, _ = self.query()
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ctype = self.headers.get("Content-Type", "-")
        if path == "/echo":
            if ctype != "application/json":
                self.reply(415, b"want json")
            else:
                self.reply(200, body)
        elif path == "/post-meta":
            meta = "ct=%s expect=%s len=%d" % (ctype, self.headers.get("Expect", "-"), len(body))
            self.reply(200, meta.encode())
        else:
            self.reply(404, b"no such endpoint")


def raw_responder(payload):
    """Accepts connections forever; answers each with `payload` (may be empty) and closes."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)

    def serve():
        while True:
            conn, _ = ls.accept()
            try:
                conn.settimeout(2)
                try:
                    conn.recv(4096)
                except OSError:
                    pass
                if payload:
                    conn.sendall(payload)
            except OSError:
                pass
            finally:
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return ls.getsockname()[1]


def closed_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(server):
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def main():
    http_port = start(Server(("127.0.0.1", 0), Handler))

    tls = Server(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(HERE, "selfsigned.pem"))
    tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
    tls_port = start(tls)

    junk = raw_responder(b"SSH-2.0-NotHTTP\r\nthis is \x00\xff not http\r\n\r\n")
    empty = raw_responder(b"")
    print("READY http=%d junk=%d empty=%d closed=%d tls=%d"
          % (http_port, junk, empty, closed_port(), tls_port), flush=True)
    sys.stdin.buffer.read()    # the test closes our stdin when it is done (or dies)
    os._exit(0)


if __name__ == "__main__":
    main()
