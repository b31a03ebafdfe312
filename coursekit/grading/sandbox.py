"""A file-system sandbox for grading kernels, with Landlock (Linux 5.13 or later, no privileges).

A grading kernel runs a student's code as the grader's own user, so without a sandbox that code
can read whatever the grader can: the instructor sources with the hidden tests, the gradebook,
the other students' submissions, the repository and its git history. Before any student code
runs, the kernel restricts itself, and every thread and process it starts afterwards, to
- reading the system (/usr, /etc, /proc, ...), Python, its packages and the guard's own files;
- reading and writing its working folder, a private temporary folder and /dev.
Everything else cannot be opened at all. A protected path that lies inside an allowed folder (the
repository's solutions/ inside a venv's parent on sys.path, say) stays closed: the allowed folder
is opened child by child around it.

This module imports nothing from coursekit: kernels load it by path, and `launch` is a kernel
command line (`python sandbox.py launch POLICY BOOT CONNECTION_FILE`).
"""

from __future__ import annotations

import ctypes
import json
import os
import sys

CREATE_RULESET, ADD_RULE, RESTRICT_SELF = 444, 445, 446  # the same on every Linux architecture
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | (1 << 14) | (1 << 15)  # + truncate, ioctl_dev
READ = EXECUTE | READ_FILE | READ_DIR
SYSTEM = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc", "/proc", "/sys",
          "/var/cache/fontconfig", "/var/lib/dpkg/alternatives")
CACHES = ("~/.cache/matplotlib", "~/.config/matplotlib", "~/.cache/fontconfig")
FONTS = ("~/.local/share/fonts", "~/.fonts")


class SandboxError(OSError):
    """Landlock refused a step; the kernel must not run unsandboxed."""


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc():
    """The C library, with errno kept."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def abi() -> int:
    """This kernel's Landlock ABI version; 0 where Landlock is unavailable or disabled."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        version = _libc().syscall(ctypes.c_long(CREATE_RULESET), None, ctypes.c_size_t(0),
                                  ctypes.c_uint32(1))
    except (OSError, AttributeError):
        return 0
    return max(int(version), 0)


def all_rights(version: int) -> int:
    """Every file-system right the given ABI version knows."""
    rights = (1 << 13) - 1  # ABI 1: execute ... make_sym
    for since, bit in ((2, 13), (3, 14), (5, 15)):  # refer, truncate, ioctl_dev
        if version >= since:
            rights |= 1 << bit
    return rights


def _under(path: str, root: str) -> bool:
    """Whether path is root or lies inside it."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def around(root: str, protected: list[str]) -> list[str]:
    """root if it holds no protected path; else its children that hold none, recursively."""
    root = os.path.realpath(root)
    if any(_under(root, p) for p in protected) or not os.path.exists(root):
        return []
    inside = [p for p in protected if _under(p, root)]
    if not inside:
        return [root]
    try:
        children = [e.path for e in os.scandir(root)]
    except OSError:
        return []
    return [path for child in children for path in around(child, inside)]


def read_roots(extra: list[str]) -> list[str]:
    """What a kernel may read: the system, Python and its packages, fonts, and extra."""
    roots = [*SYSTEM, sys.prefix, sys.base_prefix, sys.exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable)), *extra]
    roots += [p for p in sys.path if p and os.path.isdir(p)]
    return roots + [os.path.expanduser(p) for p in FONTS]


def _add(libc, ruleset: int, path: str, rights: int) -> None:
    """Allow rights beneath path (a file gets only the rights a file can have)."""
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        if not os.path.isdir(path):
            rights &= FILE_RIGHTS
        rule = _PathBeneath(rights, fd)
        if libc.syscall(ctypes.c_long(ADD_RULE), ctypes.c_int(ruleset),
                        ctypes.c_int(RULE_PATH_BENEATH), ctypes.byref(rule), ctypes.c_uint32(0)):
            raise SandboxError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(fd)


def restrict(protect: list[str], read: list[str], write: list[str]) -> None:
    """Limit this process (and what it starts later) to reading read_roots(read) and writing
    write; nothing in protect can be opened. Raises SandboxError if Landlock refuses."""
    version = abi()
    if version < 1:
        raise SandboxError(0, "Landlock is not available on this system")
    libc, handled = _libc(), all_rights(version)
    protected = [os.path.realpath(p) for p in protect]
    attr = ctypes.c_uint64(handled)
    ruleset = libc.syscall(ctypes.c_long(CREATE_RULESET), ctypes.byref(attr), ctypes.c_size_t(8),
                           ctypes.c_uint32(0))
    if ruleset < 0:
        raise SandboxError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for root in dict.fromkeys(p for r in read_roots(read) for p in around(r, protected)):
            _add(libc, ruleset, root, READ & handled)
        for root in dict.fromkeys(os.path.realpath(w) for w in write if os.path.exists(w)):
            _add(libc, ruleset, root, handled)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0):
            raise SandboxError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(ctypes.c_long(RESTRICT_SELF), ctypes.c_int(ruleset), ctypes.c_uint32(0)):
            raise SandboxError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)


def private_tmp(cwd: str) -> str:
    """A temporary folder of the kernel's own, set as TMPDIR (and IPython's folder inside it)."""
    import tempfile

    tmp = os.path.join(cwd, ".kernel-tmp")
    os.makedirs(os.path.join(tmp, "ipython"), exist_ok=True)
    os.environ["TMPDIR"] = tmp
    os.environ["IPYTHONDIR"] = os.path.join(tmp, "ipython")
    tempfile.tempdir = None  # forget a cached default computed before the fork
    return tmp


def enter(policy: dict, connection_file: str) -> None:
    """Apply a kernel's policy ({"sandbox", "protect", "read"}) in its working folder."""
    if not policy.get("sandbox"):
        return
    cwd = os.getcwd()
    caches = [os.path.expanduser(c) for c in CACHES]
    restrict(policy.get("protect", []), [*policy.get("read", []), connection_file],
             [cwd, private_tmp(cwd), "/dev", *caches])


def launch(policy_json: str, boot: str, connection_file: str) -> None:
    """Become a plain IPython kernel that runs boot first, inside the sandbox."""
    enter(json.loads(policy_json), connection_file)
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file,
                              f"--IPKernelApp.exec_files={boot}", "--IPKernelApp.log_level=ERROR",
                              "--HistoryManager.enabled=False"])


if __name__ == "__main__":
    if sys.argv[1:2] == ["launch"] and len(sys.argv) == 5:
        launch(sys.argv[2], sys.argv[3], sys.argv[4])
    sys.exit("usage: sandbox.py launch POLICY_JSON BOOT_FILE CONNECTION_FILE")
