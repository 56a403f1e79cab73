"""The ``qiangcun`` console script: Django's manage.py for the installed package."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qiangcun.settings")
    from django.core.management import execute_from_command_line

    from qiangcun.core import origin as audit_origin

    audit_origin.set_channel(audit_origin.Channel.CLI)  # every write of a command is recorded as 命令行

    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command in LONG_RUNNING:  # each job, request or scheduled run records its own failures
        execute_from_command_line(sys.argv)
        return
    with audit_origin.watching_refusals() as watch:
        try:
            execute_from_command_line(sys.argv)
        finally:
            if not watch.recorded and any(r.in_service for r in watch.refusals):
                _record_refusal(sys.argv, watch)


#: Commands that run for a long time and do many things: no one watch around the whole of them.
LONG_RUNNING = frozenset({"db_worker", "runserver", "serve", "demo", "shell"})


def _record_refusal(argv: list[str], watch: object) -> None:
    """A command whose write a service refused leaves a record of it (``ok`` false): the command's name and
    ``--as`` account, never its other arguments (a password may be among them)."""
    from qiangcun.core import audit

    command = argv[1] if len(argv) > 1 else ""
    username = ""
    for i, arg in enumerate(argv):
        if arg == "--as" and i + 1 < len(argv):
            username = argv[i + 1][:150]
        elif arg.startswith("--as="):
            username = arg.removeprefix("--as=")[:150]
    audit.failure(
        actor=None,
        action=audit.REFUSED,
        what=f"qiangcun {command}",
        refusals=getattr(watch, "refusals", ()),
        username=username,
    )


if __name__ == "__main__":
    main()
