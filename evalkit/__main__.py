"""``python -m evalkit``: the same command line as the ``evalkit`` script."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="evalkit")
