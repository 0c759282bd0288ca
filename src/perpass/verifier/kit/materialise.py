"""Materialise the delivered tree inside the verifier session; prints (to fd 3) one JSON report.

  python -I materialise.py --dest DIR --work DIR --manifest FILE (--objects-tar TAR --sha SHA | --tree-tar TAR)
      [--max-bytes N] [--max-files N] [--max-depth N] [--max-path N]

Exit 0: the checkout is ready; 3: refused (report status "oversized" or "unreadable")."""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from perpass_kit.materialise import run  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dest", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--objects-tar")
    parser.add_argument("--sha")
    parser.add_argument("--tree-tar")
    for cap in ("bytes", "files", "depth", "path"):
        parser.add_argument(f"--max-{cap}", type=int)
    args = parser.parse_args()
    if bool(args.tree_tar) == bool(args.objects_tar and args.sha):
        parser.error("give either --tree-tar, or --objects-tar and --sha")
    return run(vars(args))


if __name__ == "__main__":
    sys.exit(main())
