"""The ``sksep`` command line (also ``python -m sksep``).

Exit codes: 0 success, 1 some inputs failed (the rest was done), 2 usage error
or bad input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UserError(Exception):
    """A mistake of the caller: printed without a traceback, exit code 2."""


def _add_compare(sub):
    p = sub.add_parser(
        "compare",
        help="train every network on every front end and write the comparison report",
        description=(
            "Train DNN_0, DNN_1, CNN_0 and CNN_1 on STFT and cochleagram features of the bundled "
            "sample, score them with the baselines and oracle masks on the speaker- and "
            "noise-disjoint test split, and write the report (README.md, CSV tables, figures, "
            "audio). Results are cached per system: an interrupted run resumes."
        ),
    )
    p.add_argument("-o", "--out", default="analysis", help="report folder (default: analysis)")
    p.add_argument("--quick", action="store_true", help="tiny smoke run (about 2 minutes)")
    p.add_argument("--cache", default=None, help="cache folder (default: ~/.cache/sksep/compare)")
    p.add_argument("--force", action="store_true", help="ignore cached results")
    p.add_argument("--jobs", type=int, default=2, help="parallel jobs for scoring (default: 2)")
    p.add_argument(
        "--networks", nargs="+", default=["DNN_0", "DNN_1", "CNN_0", "CNN_1"],
        choices=["DNN_0", "DNN_1", "CNN_0", "CNN_1"], metavar="NET",
        help="networks to train (default: all four)",
    )
    p.add_argument(
        "--features", nargs="+", default=["stft", "cochleagram"],
        choices=["stft", "cochleagram"], help="front ends (default: both)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_run_compare)


def _run_compare(args):
    from .comparison import run_comparison

    run_comparison(
        args.out,
        cache_dir=args.cache,
        quick=args.quick,
        networks=tuple(args.networks),
        features=tuple(args.features),
        n_jobs=args.jobs,
        force=args.force,
        verbose=not args.quiet,
    )
    return EXIT_OK


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sksep",
        description="Deep-learning speech enhancement with scikit-learn estimators.",
    )
    parser.add_argument("--version", action="version", version=f"sksep {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_compare(sub)
    return parser


def main(argv=None):
    """Run the command line; returns the exit code."""
    from .exceptions import AudioError, CorpusLayoutError, ParameterError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("sksep: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (UserError, AudioError, CorpusLayoutError, ParameterError, FileNotFoundError) as exc:
        print(f"sksep {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
