"""The `ventanilla` command: every Django management command, plus the platform's own (serve, worker, audit,
catalogue, createoperator, createtoken). `ventanilla help` lists them."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ventanilla.config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["ventanilla", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
