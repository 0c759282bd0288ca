"""Static scan of the delivered tree against the initial repository; prints (to fd 3) one JSON report.

  python -I scan.py --initial DIR --tree DIR [--word WORD ...]

--word adds a verifier word to look for (the task's hidden_dir name)."""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from perpass_kit.materialise import emit  # noqa: E402
from perpass_kit.scan import scan  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--initial", required=True)
    parser.add_argument("--tree", required=True)
    parser.add_argument("--word", action="append", default=[])
    args = parser.parse_args()
    emit({"kind": "started"})
    try:
        report = scan(args.initial, args.tree, tuple(args.word))
    except Exception as err:  # noqa: BLE001 - a tree that breaks the scan is reported, never an infra error
        report = {"kind": "scan", "error": f"{type(err).__name__}: {err}"[:500]}
    emit(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
