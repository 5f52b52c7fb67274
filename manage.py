#!/usr/bin/env python
import os
import sys
from pathlib import Path


def main() -> None:
    from smsgate.env import read_dotenv

    # The same .env that honcho gives the processes of `make run`, so commands see the same settings.
    read_dotenv(Path(__file__).resolve().parent / ".env")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsgate.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
