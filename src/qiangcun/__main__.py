"""The ``qiangcun`` console script: Django's manage.py for the installed package."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qiangcun.settings")
    from django.core.management import execute_from_command_line

    from qiangcun.core import origin as audit_origin

    audit_origin.set_channel(audit_origin.Channel.CLI)  # every write of a command is recorded as 命令行

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
