"""Pre-warmed grading kernels: one process imports torch once, then forks a fresh kernel per
submission (Linux only).

A normal kernel spends about 3 s of CPU importing ipykernel and torch before the first cell; on
2 cores that alone caps grading near 20 submissions a minute. The zygote pays it once. Each
kernel is still its own process (a fork with a copy-on-write copy of the zygote's memory), so
nothing a submission does reaches the next one. `kernel_guard` is installed before the fork, so
its snapshot predates every submission.

Jupyter launches `attach` (this file run as a script, in milliseconds) as the kernel process; it
asks the zygote for a kernel, then lives exactly as long as that kernel. The kernel spec uses
message interrupts, which the forked kernel (a session leader) turns into a SIGINT to itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import time

PRELOAD = ("torch", "torch.nn", "torch.nn.functional", "torch.optim", "torch.utils.data",
           "numpy", "sklearn.datasets", "ipykernel.kernelapp")


def supported() -> bool:
    """Whether this platform can fork a kernel safely (Linux with os.fork)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def preload() -> None:
    """Import what every assignment uses (the guard's install then creates the first optimizer)."""
    import importlib

    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def serve(sock_path: str) -> None:
    """The zygote: preload, install the guard, then fork one kernel per request, forever."""
    if sys.path and sys.path[0] == os.path.dirname(os.path.abspath(__file__)):
        sys.path.pop(0)  # coursekit's own modules must not shadow a student's imports
    preload()
    load_sibling("kernel_guard").install()
    sandbox = load_sibling("sandbox")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # kernels are reaped automatically
    print("ready", flush=True)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # kernels inherit these: nothing may block on the grader's pipe
    os.dup2(devnull, 2)
    while True:
        conn, _ = listener.accept()
        with conn:
            request = json.loads(conn.makefile("r").readline())
            pid = os.fork()
            if pid == 0:
                listener.close()
                conn.close()
                become_kernel(request, sandbox)
            conn.sendall(f"{pid}\n".encode())


def load_sibling(name: str):
    """A module of this folder (kernel_guard, sandbox), without putting coursekit on sys.path."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def become_kernel(request: dict, sandbox) -> None:
    """In the forked child: take the client's directory and environment, enter the sandbox
    (before IPython starts a thread, so every thread is inside it), start IPython."""
    os.setsid()
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    from ipykernel.kernelapp import IPKernelApp

    try:
        sandbox.enter(request["policy"], request["connection_file"])
        watch_parent(request["client_pid"])
        app = IPKernelApp.instance()
        app.initialize(["-f", request["connection_file"], "--HistoryManager.enabled=False"])
        app.start()
    finally:
        os._exit(0)


def watch_parent(pid: int) -> None:
    """Exit this kernel when the attach process Jupyter manages is gone (e.g. killed)."""
    import threading

    def poll() -> None:
        while alive(pid):
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=poll, daemon=True).start()


def alive(pid: int) -> bool:
    """Whether a process exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


ATTACH_TIMEOUT = 30.0  # seconds to wait for the zygote's answer; then start a plain kernel


def attach(sock_path: str, boot: str, policy: str, connection_file: str) -> int:
    """The process Jupyter starts: get a kernel from the zygote and live as long as it does.

    If the zygote is gone (a submission may have killed it), become a plain kernel that runs
    the guard's boot file instead: slower, equally guarded and sandboxed.
    """
    request = {"connection_file": os.path.abspath(connection_file), "cwd": os.getcwd(),
               "env": dict(os.environ), "client_pid": os.getpid(), "policy": json.loads(policy)}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(ATTACH_TIMEOUT)  # a zygote that hangs must not hang the batch
            conn.connect(sock_path)
            conn.sendall((json.dumps(request) + "\n").encode())
            kernel = int(conn.makefile("r").readline())
    except (OSError, ValueError):  # socket.timeout is an OSError
        load_sibling("sandbox").launch(policy, boot, connection_file)

    def forward(signum, _frame) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(kernel, signal.SIGKILL if signum == signal.SIGTERM else signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    manager = os.getppid()
    while alive(kernel):
        if os.getppid() != manager:  # the grader that started us died: nobody will shut us down
            forward(signal.SIGTERM, None)
            return 1
        time.sleep(0.05)
    return 0


def kernel_spec(sock_path: str, boot: str, policy: str) -> dict:
    """The kernel.json of a kernel that attaches to the zygote listening on sock_path."""
    argv = [sys.executable, os.path.abspath(__file__), "attach", sock_path, boot, policy,
            "{connection_file}"]
    return {"argv": argv, "display_name": "Python 3 (grading)", "language": "python",
            "interrupt_mode": "message", "metadata": {"debugger": False}}


class Zygote:
    """A running zygote and the kernel spec folder that points at it."""

    def __init__(self, folder: str) -> None:
        """Start the zygote process (it preloads in the background until ready() is called)."""
        import subprocess

        self.folder = folder
        self.sock = os.path.join(folder, "zygote.sock")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "serve", self.sock],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            start_new_session=True)

    def ready(self) -> bool:
        """Wait for the preload; False (and stopped) if the zygote failed to start."""
        if self.proc.stdout.readline().strip() != b"ready":
            self.stop()
            return False
        return True

    def stop(self) -> None:
        """Stop the zygote (kernels it forked have their own sessions and end on their own)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc.stdout.close()


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2])
    elif sys.argv[1:2] == ["attach"]:
        sys.exit(attach(*sys.argv[2:6]))
    else:
        sys.exit("usage: zygote.py serve SOCKET | attach SOCKET BOOT_FILE POLICY CONNECTION_FILE")
