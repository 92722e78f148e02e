"""Inside the sandbox: a loopback HTTP proxy port that relays each connection to the evaluator's egress proxy.

Run as ``python -I -m evaluator_service.sandbox.egress_relay PORT SOCKET [--max-processes=N] -- WORKER
ARGV...``: it starts a background child that accepts connections on ``127.0.0.1:PORT`` (the sandbox's
own loopback; the sandbox has no other network) and pipes each to the Unix socket ``SOCKET``, which
bubblewrap bound in from the evaluator, then execs the worker. ``HTTP_PROXY``/``HTTPS_PROXY`` point
scorer code at the port; the evaluator's side decides which destinations are allowed and counts the calls
(:mod:`evaluator_service.sandbox.egress_proxy`). The relay adds no policy of its own: a scorer that
kills or bypasses it only loses its own network.

The same background child is the sandbox's lifeline guard (with ``PORT`` 0 it is only that): it watches
the worker's stdin pipe for the evaluator's end to close and then kills every process in the sandbox,
and itself, so nothing outlives an evaluator that was SIGKILLed, whatever the scorer is blocked in and
even when bubblewrap's own ``--die-with-parent`` was not armed yet. Used only under bubblewrap, where
``kill(-1)`` reaches just the sandbox's own PID namespace.

``--max-processes=N`` sets ``RLIMIT_NPROC`` (soft = hard, never above the inherited hard limit) first.
Since Linux 5.14 the kernel counts it per user in each user namespace, and every sandbox has a user
namespace of its own, so this bounds the tasks (processes, threads and unreaped zombies) of this sandbox
alone, whichever host uid the sandboxes share. It is set here, after bubblewrap made the namespace: set
before, the kernel would also hold the namespace's creator (every process of the evaluator's uid) to it.
"""

from __future__ import annotations

import contextlib
import os
import resource
import select
import signal
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


def set_process_limit(limit: int) -> None:
    """``RLIMIT_NPROC`` soft = hard = ``limit``, or the inherited hard limit when that is lower (an
    unprivileged process cannot raise it; the host's lower limit then bounds every sandbox of the uid)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))


def main() -> None:
    """``egress_relay PORT SOCKET [--max-processes=N] -- ARGV``: see the module docstring (PORT 0: no relay,
    guard only)."""
    port, socket_path = int(sys.argv[1]), sys.argv[2]
    split = sys.argv.index("--")
    argv = sys.argv[split + 1:]
    for option in sys.argv[3:split]:
        if option.startswith("--max-processes="):
            set_process_limit(int(option.removeprefix("--max-processes=")))
    listener = None
    if port:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
    if os.fork() == 0:  # the relay and lifeline guard; dies with the sandbox's PID namespace
        try:
            lifeline = os.dup(0)
            for fd in (0, 1, 2):  # the protocol pipes belong to the worker alone
                os.close(fd)
            threading.Thread(target=_guard, args=(lifeline,), daemon=True).start()
            if listener is not None:
                serve(listener, socket_path)
            threading.Event().wait()
        finally:
            os._exit(0)
    if listener is not None:
        listener.close()
    os.execv(argv[0], argv)


def _guard(lifeline: int) -> None:
    """Wait, without reading, until the evaluator's end of the worker's stdin is gone (the evaluator
    died, even by SIGKILL), then kill every process of this sandbox: a scorer stuck in a blocking call
    would otherwise outlive it. ``poll`` with no requested events reports only hang-up and errors."""
    poller = select.poll()
    poller.register(lifeline, 0)
    while not poller.poll():
        pass
    os.kill(-1, signal.SIGKILL)  # inside the sandbox's PID namespace: every process but this one and init
    # ...so leave too: bubblewrap's init waits for its last child. Without this, an evaluator killed while
    # a worker starts (before bubblewrap armed --die-with-parent in its init) left the sandbox behind.
    os._exit(0)


if __name__ == "__main__":
    main()
