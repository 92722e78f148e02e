"""Inside the sandbox: a loopback HTTP proxy port that relays each connection to the evaluator's egress proxy.

Run as ``python -I -m evaluator_service.sandbox.egress_relay PORT SOCKET -- WORKER ARGV...``: it starts
a background child that accepts connections on ``127.0.0.1:PORT`` (the sandbox's own loopback; the
sandbox has no other network) and pipes each to the Unix socket ``SOCKET``, which bubblewrap bound in from
the evaluator, then execs the worker. ``HTTP_PROXY``/``HTTPS_PROXY`` point scorer code at the port; the
evaluator's side decides which destinations are allowed and counts the calls
(:mod:`evaluator_service.sandbox.egress_proxy`). The relay adds no policy of its own: a scorer that
kills or bypasses it only loses its own network.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end, how in ((sink, socket.SHUT_WR), (source, socket.SHUT_RD)):
            with contextlib.suppress(OSError):
                end.shutdown(how)


def _relay(client: socket.socket, socket_path: str) -> None:
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(socket_path)
    except OSError:
        client.close()
        upstream.close()
        return
    threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()
    _pump(client, upstream)


def serve(listener: socket.socket, socket_path: str) -> None:
    """Accept forever, one pair of threads per connection."""
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_relay, args=(client, socket_path), daemon=True).start()


def main() -> None:
    port, socket_path = int(sys.argv[1]), sys.argv[2]
    argv = sys.argv[sys.argv.index("--") + 1:]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    if os.fork() == 0:  # the relay; dies with the sandbox's PID namespace
        try:
            os.closerange(0, 3)
            serve(listener, socket_path)
        finally:
            os._exit(0)
    listener.close()
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
