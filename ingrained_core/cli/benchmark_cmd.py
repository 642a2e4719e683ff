"""``ingrained benchmark``: the real-data benchmark against the published results."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ingrained_core.apps.benchmark_modes import MODES


def _mode_help(axis: str, what: str) -> str:
    return f"{what}: {' | '.join(MODES[axis])} (comma-separated for several; one record per case and mode)"


@click.command()
@click.option("--cases", default="twin,ni,cu2o", show_default=True,
              help="comma-separated cases: twin (CdTe, Case 1), ni (Ni/M3B2, Case 2), cu2o (STM, Case 3)")
@click.option("--time", "time_limit", type=float, default=300.0, show_default=True,
              help="wall-time limit of each case's fuse, seconds")
@click.option("--out", "-o", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="folder for paper-<YYYYmmdd-HHMMSS>.json and paper-<YYYYmmdd-HHMMSS>.md (a name already "
                   "there gets -2, -3, ...) [default: a new ./ingrained-benchmark-<YYYYmmdd-HHMMSS>/]")
@click.option("--runs", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="folder for the cases' run directories [default: runs/ in the output folder]")
@click.option("--samples", type=click.IntRange(min=1), default=100, show_default=True,
              help="distinct-parameter evaluations timed per case")
@click.option("--structure", "structure", default="published", show_default=True,
              help=_mode_help("structure", "where the structure comes from"))
@click.option("--start", "start", default="published", show_default=True,
              help=_mode_help("start", "where the optimizer starts"))
@click.option("--refine", "refine", default="none", show_default=True,
              help=_mode_help("refine", "refinement after the fit"))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="override a config field in every case (e.g. the optimizer), repeatable")
def benchmark(cases: str, time_limit: float, out: Path | None, runs: Path | None, samples: int,
              structure: str, start: str, refine: str, overrides: tuple[str, ...]) -> None:
    """Benchmark ingrained against the paper on the real images (crop fixed at the paper's best).

    Each case's record is written as soon as it finishes; the Cu2O case's synthetic density
    is made once into the user's cache folder when examples/cu2o_111 has none.
    """
    from ingrained_core.apps.benchmark import run_benchmark
    from ingrained_core.apps.benchmark_modes import combinations, parse_modes

    names = [c.strip() for c in cases.split(",") if c.strip()]
    selected = {"structure": parse_modes("structure", structure), "start": parse_modes("start", start),
                "refine": parse_modes("refine", refine)}
    from ingrained_core.plugin.redact import redact_args

    # the recorded command line never holds a secret (--set structure.api_key=... is masked)
    command = "ingrained benchmark " + " ".join(redact_args(sys.argv[2:])) if len(sys.argv) > 2 else "ingrained benchmark"
    result = run_benchmark(names, time_limit=time_limit, out=out, runs_dir=runs, samples=samples,
                           overrides=list(overrides), modes=combinations(selected), command=command,
                           echo=lambda s: click.echo(s, err=True))
    click.echo(result["table"])
    for p in result["paths"]:
        click.echo(p)
    if result["failed"]:
        click.echo(f"error: benchmark case(s) failed: {', '.join(result['failed'])} (their errors are in "
                   f"{result['paths'][0]})", err=True)
        sys.exit(1)
