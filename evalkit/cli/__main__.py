"""``python -m evalkit.cli``: the command line without the installed ``evalkit`` script."""

from . import main

if __name__ == "__main__":  # pragma: no cover
    main()
