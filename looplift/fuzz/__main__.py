"""``python -m looplift.fuzz --examples N --seed S [--compile] [--summary FILE]``

Generates N random programs, runs each as the original and as ``looplift(compile=...)(fn)`` on
three sets of inputs, shrinks the first program of every new kind of disagreement, logs progress
and writes a summary (JSON, or markdown when FILE ends in ``.md``).  Exit status: 0 when every
program agreed, 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import logging
import signal
import sys

from .runner import Summary, run_campaign

logger = logging.getLogger("looplift.fuzz")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m looplift.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000, help="programs to generate (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default 0)")
    parser.add_argument("--compile", action="store_true",
                        help="decorate with compile=True instead of compile=False: every lifted region is "
                             "compiled at its first call (slow: torch.compile)")
    parser.add_argument("--variants", type=int, default=3,
                        help="input sets per program: the first specializes, the others hit the cache; "
                             "the third has other shapes (default 3)")
    parser.add_argument("--device", default="cpu", help="where input tensors live: cpu (default), cuda, ...")
    parser.add_argument("--time-limit", type=float, metavar="SECONDS", help="stop generating after this long")
    parser.add_argument("--host-reads", choices=["strict", "no-more"],
                        help="also judge host reads of tensor data: strict (none inside looplift but at exits), "
                             "no-more (and never more than the original)")
    parser.add_argument("--lift", choices=["always", "auto", "never"],
                        help="run every program with LOOPLIFT_LIFT set to this (default: each program draws "
                             "always or auto)")
    parser.add_argument("--no-shrink", action="store_true", help="count disagreements without shrinking them")
    parser.add_argument("--summary", metavar="FILE", action="append", default=[],
                        help="write the summary here (.md: markdown, else JSON); may be repeated")
    parser.add_argument("--progress-every", type=int, default=100, metavar="N", help="log progress every N programs")
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")

    def progress(summary: Summary) -> None:
        rate = summary.generated / summary.seconds if summary.seconds else 0.0
        logger.info("%d/%d programs, %.0f s (%.1f/s), disagreements %d, lifted %d, hoisted %d",
                    summary.generated, summary.examples, summary.seconds, rate, summary.disagreements,
                    summary.lifted, summary.hoisted)

    def interrupt(signum: int, frame: object) -> None:  # SIGTERM (timeout(1)): keep the summary
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    logger.info("fuzzing %d programs, seed %d, compile=%s", args.examples, args.seed,
                args.compile)
    summary = run_campaign(args.examples, args.seed, compile=bool(args.compile),
                           variants=args.variants, shrink=not args.no_shrink, progress=progress,
                           progress_every=args.progress_every, device=args.device, time_limit=args.time_limit,
                           host_reads=args.host_reads, lift=args.lift)
    progress(summary)
    for path in args.summary:
        with open(path, "w", encoding="utf-8") as handle:
            if path.endswith(".md"):
                handle.write(summary.markdown())
            else:
                json.dump(summary.as_dict(), handle, indent=2, default=str)
        logger.info("summary written to %s", path)
    for sig, count in summary.signatures.most_common():
        logger.warning("disagreement kind %r: %d program(s)", sig, count)
    for result in summary.minimal:
        print(f"\n=== minimal program for: {result.signature}\n{result.describe()}\n", file=sys.stderr)
    return 0 if summary.disagreements == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
