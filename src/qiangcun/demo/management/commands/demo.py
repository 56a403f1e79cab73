import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from qiangcun.demo import builder

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
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


def gunicorn_argv(*, port: int, workers: int, run_dir: Path) -> list[str]:
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
        f"127.0.0.1:{port}",
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

    def _signal_all(self, signum: int) -> None:
        if self.stopping_since is None:
            self.stopping_since = time.monotonic()
        for child in self.children.values():
            if child.poll() is None:
                try:
                    child.send_signal(signum)
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
                    self._signal_all(signal.SIGKILL)
                time.sleep(0.1)
        finally:
            for child in self.children.values():
                if child.poll() is None:
                    child.kill()
                child.wait()
            for s, handler in previous.items():
                signal.signal(s, handler)
        return first_dead


class Command(BaseCommand):
    help = "迁移数据库、建立演示乡镇并在 127.0.0.1 上启动服务。Migrate, build the demo township and serve it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="只建库，不启动服务")
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", verbosity=0, interactive=False)
        if builder.build(stdout=self.stdout):
            self.stdout.write("")
        else:
            self.stdout.write("演示乡镇已存在，未做改动。")
        if options["no_serve"]:
            return
        port = options["port"]
        self.stdout.write(f"\n演示地址 Demo: http://127.0.0.1:{port}/   （演示日期 2020年4月17日）")
        self.stdout.write(f"演示账号 Accounts (password {builder.DEMO_PASSWORD}):")
        for username, display, role, _unit in builder.ACCOUNTS:
            self.stdout.write(f"  {username:<20} {display}（{role.label}）")
        self.stdout.write("按 Ctrl-C 停止服务和后台任务。")
        self.stdout.flush()
        env = dict(
            os.environ,
            QIANGCUN_DEMO="1",
            QIANGCUN_DEMO_PASSWORD=builder.DEMO_PASSWORD,
            QIANGCUN_TODAY=builder.ARTICLE_DATE.isoformat(),
        )
        env.setdefault("DJANGO_SETTINGS_MODULE", "qiangcun.settings")
        run_dir = Path(settings.HOME) / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        supervisor = Supervisor(
            {
                # The web server, and the background worker for large imports.
                "gunicorn": gunicorn_argv(port=port, workers=options["workers"], run_dir=run_dir),
                "db_worker": [
                    sys.executable,
                    "-m",
                    "qiangcun",
                    "db_worker",
                    "--no-reload",
                    "--verbosity",
                    "0",
                ],
            },
            env,
        )
        dead = supervisor.run()
        if dead is not None:
            raise CommandError(f"{dead} 意外退出，演示已停止（另一进程也已结束）。")
        self.stdout.write("演示已停止。")
