"""The ``evalkit`` command line: a thin layer over the stages.

Each subcommand's handler is imported only when that subcommand runs, so ``evalkit
ingest`` or ``evalkit report`` never pays for torch or transformers.

Exit codes: 0 success; 1 a CI gate failed; 2 bad input or config (one-line message, no
traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from evalkit import __version__
from evalkit.errors import EvalkitError

DEFAULT_CONFIG = "configs/default.yaml"

# subcommand -> "module:function"; each function takes the parsed args and returns an exit code.
HANDLERS = {
    "ingest": "evalkit.corpus.command:main",
    "translate": "evalkit.systems.command:main",
    "score": "evalkit.commands:score_command",
    "report": "evalkit.commands:report_command",
    "run": "evalkit.commands:run_command",
    "ci": "evalkit.commands:ci_command",
    "compare": "evalkit.compare:compare_command",
    "worklist": "evalkit.fixes.command:worklist_command",
    "apply": "evalkit.fixes.command:apply_command",
}


def _add_run_options(parser: argparse.ArgumentParser, config_required: bool = False) -> None:
    parser.add_argument("--config", "-c", default=None if config_required else DEFAULT_CONFIG,
                        required=config_required, help=f"run config (YAML); default: {DEFAULT_CONFIG}")
    parser.add_argument("--out", "-o", help="run folder; overrides the config's 'out'")
    parser.add_argument("--reference", help="reference set (JSONL); overrides the config's 'reference'")
    parser.add_argument("--sources", nargs="+", metavar="PATH",
                        help="archive files or folders to ingest instead of a reference set")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evalkit",
        description="Measure machine translation of historical Chinese and find the weak paragraphs "
                    "of existing English translations.",
        epilog="Exit codes: 0 success, 1 a CI gate failed, 2 bad input or config.",
    )
    parser.add_argument("--version", action="version", version=f"evalkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("ingest", help="parse archive files and align their paragraphs into a reference set")
    p.add_argument("paths", nargs="+", metavar="PATH", help="article files or folders (recursive *.md, *.txt)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="reference set to write (JSONL)")
    p.add_argument("--skip-bad", action="store_true",
                   help="skip files that cannot be read (they are counted and listed) instead of stopping")

    p = sub.add_parser("translate", help="translate the reference set with the configured systems")
    _add_run_options(p)
    p.add_argument("--system", action="append", metavar="NAME", help="only this system (repeatable)")
    p.add_argument("--refresh", action="store_true", help="ignore the translation cache")

    p = sub.add_parser("score", help="score existing hypotheses of a run against the reference")
    _add_run_options(p)

    p = sub.add_parser("report", help="judge and write the reports of a scored run")
    _add_run_options(p)

    p = sub.add_parser("run", help="ingest, translate, score, judge and report, end to end")
    _add_run_options(p)
    p.add_argument("--refresh", action="store_true", help="ignore the translation cache")

    p = sub.add_parser("ci", help="run, then check the config's gates and a baseline; exit 1 on failure")
    _add_run_options(p)
    p.add_argument("--baseline", metavar="SUMMARY", help="summary.json of a baseline run to check for regressions")
    p.add_argument("--refresh", action="store_true", help="ignore the translation cache")

    p = sub.add_parser("compare", help="what changed between two runs")
    p.add_argument("run_a", metavar="RUN_A", help="run folder (or its summary.json)")
    p.add_argument("run_b", metavar="RUN_B", help="run folder (or its summary.json)")
    p.add_argument("--out", "-o", metavar="FILE", help="also write the comparison as Markdown to FILE")

    p = sub.add_parser("worklist", help="one work item per flagged paragraph of a run, with a proposed repair")
    p.add_argument("run_dir", metavar="RUN_DIR", help="run folder (evalkit run)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="worklist to write (JSONL; the CSV goes beside it); default RUN_DIR/worklist.jsonl")
    p.add_argument("--min-suspicion", type=float, default=0.5, metavar="X",
                   help="only paragraphs with a reference-side flag and at least this suspicion (default 0.5)")
    p.add_argument("--from", dest="from_system", metavar="SYSTEM",
                   help="propose this system's translations (default: the best unflagged system by corpus chrF)")
    p.add_argument("--sources", nargs="+", metavar="PATH",
                   help="where the run's archive files are now (default: the sources in its summary.json)")

    p = sub.add_parser("apply", help="write corrected archive files from a worklist's decisions")
    p.add_argument("worklist", metavar="WORKLIST", help="worklist (.jsonl, or its .csv) with decisions set")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the corrected copies, diffs and summary")
    p.add_argument("--in-place", action="store_true",
                   help="change the archive files themselves (each kept as <file>.bak); diffs still go to DIR")
    p.add_argument("--run", metavar="RUN_DIR", help="the run folder, if it moved since the worklist was made")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module_name, func_name = HANDLERS[args.command].split(":")
    try:
        handler = getattr(importlib.import_module(module_name), func_name)
        return int(handler(args) or 0)
    except EvalkitError as exc:
        print(f"evalkit: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("evalkit: interrupted; finished work is cached, rerun to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
