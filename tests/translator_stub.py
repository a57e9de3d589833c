"""A tiny translator command for the tests: segments on stdin, "translations" on stdout.

The translation of a line is the line upper-cased (``hello`` → ``HELLO``). Flags make it misbehave
on purpose; ``STUB_FAIL_ON`` does too, through the environment, so that a test can make one run
fail and the next succeed without changing the command (and with it the cache fingerprint).

    --drop N        write N lines fewer than were read
    --fail          exit with status 3 and a message on stderr
    --sleep S       sleep S seconds before answering
    --pad           surround each answer with spaces
    --log FILE      append "<start> <end> <lines read>" for each invocation
    STUB_FAIL_ON=W  exit with status 4 if any input line contains W
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def translate(line: str) -> str:
    """What the stub answers for one line; the tests compute expectations with this too."""
    return line.upper()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--drop", type=int, default=0)
    parser.add_argument("--fail", action="store_true")
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--pad", action="store_true")
    parser.add_argument("--log")
    args = parser.parse_args()
    start = time.time()
    lines = sys.stdin.buffer.read().decode("utf-8").split("\n")
    if lines[-1] == "":
        lines.pop()
    if args.sleep:
        time.sleep(args.sleep)
    if args.log:
        with open(args.log, "a", encoding="utf-8") as fh:
            fh.write(f"{start} {time.time()} {len(lines)}\n")
    if args.fail:
        print("stub: told to fail", file=sys.stderr)
        return 3
    bad = os.environ.get("STUB_FAIL_ON")
    if bad and any(bad in line for line in lines):
        print(f"stub: refusing a segment containing {bad!r}", file=sys.stderr)
        return 4
    out = [translate(line) for line in lines[: len(lines) - args.drop]]
    if args.pad:
        out = [f"  {line}\t " for line in out]
    sys.stdout.buffer.write("".join(f"{line}\n" for line in out).encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
