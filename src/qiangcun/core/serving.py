"""Serving: the web server and the background worker side by side, under one supervisor (``qiangcun serve``
and ``qiangcun demo``). Knows no domain.

The web server is gunicorn on Linux and macOS and waitress on Windows, where gunicorn does not run;
``QIANGCUN_SERVER=gunicorn|waitress`` (or ``serve --server``) chooses one. Both serve the same WSGI app,
static files included (WhiteNoise)."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

WINDOWS = sys.platform == "win32"
# Windows has no SIGHUP (nor SIGKILL): stop on what the platform has.
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
SERVERS = ("gunicorn", "waitress")
# gunicorn's graceful timeout is 5 s; whatever still runs this long after a stop is killed.
KILL_AFTER = 10.0
# A Unix socket path is limited to 108 bytes (sun_path); leave room for the terminating NUL.
MAX_SOCKET_PATH = 100


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that asks Linux to send SIGTERM to the child when the demo itself dies,
    even by SIGKILL, so that no server or worker outlives it. Elsewhere: nothing."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1

    def preexec() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)

    return preexec


def gunicorn_argv(*, port: int, workers: int, run_dir: Path, host: str = "127.0.0.1") -> list[str]:
    """gunicorn with every file it writes (pid file, control socket) under ``run_dir``.

    gunicorn ≥ 25.1 opens a control socket at ``$XDG_RUNTIME_DIR/gunicorn.ctl`` or
    ``~/.gunicorn/gunicorn.ctl`` by default, which litters the user's home and makes two demos on one
    machine share one socket. Its worker heartbeat file is unlinked as soon as it is created."""
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "qiangcun.wsgi:application",
        "--bind",
        f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "--workers",
        str(workers),
        "--access-logfile",
        "-",
        "--graceful-timeout",
        "5",
        "--pid",
        str(run_dir / "gunicorn.pid"),
        "--worker-tmp-dir",
        str(run_dir),
    ]
    control = run_dir / "gunicorn.ctl"
    if len(os.fsencode(control)) <= MAX_SOCKET_PATH:
        argv += ["--control-socket", str(control)]
    else:
        argv += ["--no-control-socket"]
    return argv


def default_server(env: dict[str, str]) -> str:
    """The web server to run: ``QIANGCUN_SERVER`` when set, else waitress on Windows and gunicorn elsewhere."""
    chosen = env.get("QIANGCUN_SERVER", "").strip().lower()
    if not chosen:
        return "waitress" if WINDOWS else "gunicorn"
    if chosen not in SERVERS:
        raise ValueError(f"QIANGCUN_SERVER={chosen!r}：应为 gunicorn 或 waitress")
    return chosen


def waitress_argv(*, port: int, threads: int, host: str = "127.0.0.1") -> list[str]:
    """waitress: one process with ``threads`` threads; it writes no files. Proxy headers
    (X-Forwarded-Proto) reach Django untouched, as with gunicorn."""
    return [
        sys.executable,
        "-m",
        "waitress",
        f"--listen={f'[{host}]' if ':' in host else host}:{port}",
        f"--threads={threads}",
        "--ident=qiangcun",
        "qiangcun.wsgi:application",
    ]


def _send(child: subprocess.Popen[bytes], signum: int | None) -> None:
    """Forward a stop signal; ``None`` kills. Windows has no signals to forward: it terminates."""
    if signum is None:
        child.kill()
    elif WINDOWS:
        child.terminate()
    else:
        child.send_signal(signum)


class Supervisor:
    """Runs the server and the worker as children, forwards a stop signal to both, and stops the
    other when one of them ends. The children run in their own process group, so a Ctrl-C in the
    terminal reaches them once, through the supervisor, not twice."""

    def __init__(self, commands: dict[str, list[str]], env: dict[str, str]) -> None:
        self.commands = commands
        self.env = env
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stop_signal: int | None = None
        self.stopping_since: float | None = None

    def _forward(self, signum: int, frame: FrameType | None = None) -> None:
        if self.stop_signal is None:
            self.stop_signal = signum
        self._signal_all(signum)

    def _signal_all(self, signum: int | None) -> None:
        if self.stopping_since is None:
            self.stopping_since = time.monotonic()
        for child in self.children.values():
            if child.poll() is None:
                try:
                    _send(child, signum)
                except ProcessLookupError:
                    pass

    def run(self) -> str | None:
        """Serve until stopped; returns the name of a child that ended on its own, or None."""
        previous = {s: signal.signal(s, self._forward) for s in STOP_SIGNALS}
        first_dead: str | None = None
        try:
            for name, argv in self.commands.items():
                self.children[name] = subprocess.Popen(
                    argv, env=self.env, process_group=0, preexec_fn=_die_with_parent()
                )
                if self.stop_signal is not None:
                    self._signal_all(self.stop_signal)
            while any(child.poll() is None for child in self.children.values()):
                if self.stopping_since is None:
                    for name, child in self.children.items():
                        if child.poll() is not None:
                            first_dead = name
                            self._signal_all(signal.SIGTERM)
                            break
                elif time.monotonic() - self.stopping_since > KILL_AFTER:
                    self._signal_all(None)
                time.sleep(0.1)
        finally:
            for child in self.children.values():
                if child.poll() is None:
                    child.kill()
                child.wait()
            for s, handler in previous.items():
                signal.signal(s, handler)
        return first_dead


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (not a zombie left unreaped by a killed parent)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():  # not Linux: os.kill is the best answer there is
        return True
    try:
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_time(pid: int) -> str:
    """When ``pid`` started, in clock ticks since boot (Linux), or "" when unknown. With the pid it names
    one process: a pid reused later has another start time."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _pid_namespace(pid: int | str = "self") -> str:
    """The pid namespace a process lives in (``pid:[4026531836]``): pids mean something only inside one
    (two containers may share a host name and a boot)."""
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return ""


def process_label(pid: int | None = None) -> str:
    """A process (this one by default), as another process can check later whether it still runs:
    ``host boot pid-namespace pid start``."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()} {_boot_id()} {_pid_namespace(pid)} {pid} {_start_time(pid)}"


def process_gone(label: str) -> bool:
    """Whether the process a ``process_label()`` names has certainly ended: it ran on this machine since
    its last boot, in this pid namespace, and no live process has its pid and start time now. False
    whenever that cannot be told (another machine or container, not Linux, an empty or foreign label): the
    caller then waits for a timeout instead."""
    parts = label.split(" ")
    if len(parts) != 5 or not all(parts) or not parts[3].isdigit():
        return False
    host, boot, namespace, pid, start = parts
    if host != socket.gethostname() or boot != _boot_id() or namespace != _pid_namespace():
        return False
    return not _alive(int(pid)) or _start_time(int(pid)) != start


def running_pid(pidfile: Path) -> int | None:
    """The pid in gunicorn's pid file when a gunicorn still runs under it, else None."""
    try:
        pid = int(pidfile.read_text().strip() or 0)
    except (OSError, ValueError):
        return None
    if pid <= 0 or not _alive(pid):
        return None
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        if cmdline.exists() and b"gunicorn" not in cmdline.read_bytes():
            return None
    except OSError:
        return None
    return pid


def clear_stale_pidfile(pidfile: Path) -> bool:
    """Remove gunicorn's pid file when no gunicorn runs under that pid any more; True if removed.

    A server killed with SIGKILL (or a machine that lost power) leaves its pid file behind, and gunicorn
    refuses to start while the pid in it answers ``kill(pid, 0)`` — which a zombie does, and so does an
    unrelated process that was given the same pid later. Only a live gunicorn keeps its file."""
    try:
        pid = int(pidfile.read_text().strip() or 0)
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        pid = 0
    if pid > 0 and _alive(pid):
        cmdline = Path(f"/proc/{pid}/cmdline")
        try:
            if not cmdline.exists() or b"gunicorn" in cmdline.read_bytes():
                return False
        except OSError:
            return False
    pidfile.unlink(missing_ok=True)
    return True


def worker_argv() -> list[str]:
    """The background worker for large imports (django-tasks' database backend)."""
    return [sys.executable, "-m", "qiangcun", "db_worker", "--no-reload", "--verbosity", "0"]


def serve(
    *, host: str, port: int, workers: int, run_dir: Path, env: dict[str, str], server: str | None = None
) -> str | None:
    """Run the server and the worker until stopped; the name of a child that died on its own, or None.

    ``server`` is gunicorn or waitress (default: ``default_server(env)``). waitress runs one process with
    four threads per worker asked for."""
    server = server or default_server(env)
    run_dir.mkdir(parents=True, exist_ok=True)
    env = dict(env)
    env.setdefault("DJANGO_SETTINGS_MODULE", "qiangcun.settings")
    if server == "waitress":
        web = waitress_argv(host=host, port=port, threads=4 * workers)
    else:
        clear_stale_pidfile(run_dir / "gunicorn.pid")
        web = gunicorn_argv(host=host, port=port, workers=workers, run_dir=run_dir)
    supervisor = Supervisor({server: web, "db_worker": worker_argv()}, env)
    return supervisor.run()
