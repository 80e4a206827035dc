"""The book's execution time at an earlier commit and now, measured lesson by lesson in turns.

Usage: ``.venv/bin/python benchmarks/book_ab.py REF [--passes N] [--lessons GLOB]`` (``REF``:
any git revision, e.g. ``a142665``).

Each lesson runs in a fresh kernel, as ``make book`` and ``benchmarks/run.py``'s
``lesson_seconds`` run it: once from a temporary worktree of ``REF`` and once from this checkout,
back to back, the order alternating from one lesson to the next. On a shared machine, whose
speed drifts by up to 2x within the hour, this makes a slow spell hit both versions alike, where
two whole books run one after the other can differ by 10 % for nothing. Both versions use this
checkout's virtual environment and its ``data/``. Prints one row per lesson and version (the
fastest of the passes), ``book_seconds/<old|new>`` and ``ratio/book_seconds/new_over_old``.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))  # for run.py, make bench's script


def execute_lesson(root: Path, stem: str, env: dict[str, str] | None = None) -> float:
    """Wall seconds to execute ``root/lessons/<stem>.md`` in a fresh kernel that imports
    ``cnncourse`` from ``root``, with the environment variables ``env`` set for it."""
    from run import execute_lesson as execute  # make bench's, as lesson_seconds runs a lesson

    return execute(root / "lessons" / f"{stem}.md", {"PYTHONPATH": str(root), **(env or {})})


@contextlib.contextmanager
def worktree(ref: str) -> Iterator[Path]:
    """A temporary detached worktree of ``ref``, with this checkout's ``data/`` linked in."""
    check = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
                           capture_output=True, text=True)
    if check.returncode != 0:
        raise SystemExit(f"book_ab: REF {ref!r} is not a commit of this repository (git rev-parse failed)")
    with tempfile.TemporaryDirectory(prefix="cnncourse-ab-") as folder:
        path = Path(folder) / "old"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(path),
                        check.stdout.strip()], check=True)
        try:
            if (ROOT / "data").exists() and not (path / "data").exists():
                (path / "data").symlink_to(ROOT / "data")
            yield path
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False)


def compare(old: Path, new: Path, passes: int = 1, run: Callable[..., float] = execute_lesson,
            pattern: str = "*", old_env: dict[str, str] | None = None) -> dict[str, dict[str, float]]:
    """Seconds per lesson of both versions, ``{"old": {stem: s}, "new": {stem: s}}``, the fastest
    of ``passes`` turns; only lessons both versions have (and whose name matches the glob
    ``pattern``) are timed. ``old_env``: environment variables for the old version's kernels
    only (``run(root, stem, env)``)."""
    stems = sorted({p.stem for p in (old / "lessons").glob(f"{pattern}.md")}
                   & {p.stem for p in (new / "lessons").glob(f"{pattern}.md")})
    if not stems:
        raise SystemExit(f"book_ab: no lesson matching {pattern!r} is in both {old}/lessons and {new}/lessons")
    found: dict[str, dict[str, float]] = {"old": {}, "new": {}}
    turn = 0
    for _ in range(passes):
        for stem in stems:
            order = (("old", old), ("new", new)) if turn % 2 == 0 else (("new", new), ("old", old))
            turn += 1
            for name, root in order:
                seconds = run(root, stem, old_env if name == "old" else None)
                found[name][stem] = min(seconds, found[name].get(stem, float("inf")))
            print(f"# {stem}: old {found['old'][stem]:.1f} s, new {found['new'][stem]:.1f} s", flush=True)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ref", help="the earlier commit (any git revision)")
    parser.add_argument("--passes", type=int, default=1, help="turns per lesson and version (default 1)")
    parser.add_argument("--lessons", default="*", help="glob of lesson names, e.g. '08*' (default: all)")
    parser.add_argument("--old-env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the old version's kernels only, e.g. "
                             "CNNCOURSE_CACHE=DIR to make it train in the configuration recorded there")
    args = parser.parse_args(argv)
    if args.passes < 1:
        parser.error(f"--passes must be at least 1, got {args.passes}")
    old_env = {}
    for item in args.old_env:
        name, sep, value = item.partition("=")
        if not sep or not name:
            parser.error(f"--old-env must be NAME=VALUE, got {item!r}")
        old_env[name] = value
    from run import header_line  # make bench's: processor, flags, threads, torch

    from cnncourse.runtime import configure_threads, pick_device

    configure_threads()
    print(header_line(pick_device()), flush=True)
    with worktree(args.ref) as old:
        found = compare(old, ROOT, args.passes, pattern=args.lessons, old_env=old_env)
    for stem in found["new"]:
        for name in ("old", "new"):
            print(f"{f'lesson_seconds/{stem}/{name}':52s} {found[name][stem]:10.2f} s")
    total = {name: sum(found[name].values()) for name in found}
    print(f"{'book_seconds/old':52s} {total['old']:10.2f} s   ({args.ref}{', ' if old_env else ''}"
          f"{' '.join(args.old_env)})")
    print(f"{'book_seconds/new':52s} {total['new']:10.2f} s")
    print(f"{'ratio/book_seconds/new_over_old':52s} {total['new'] / total['old']:10.2f} x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
