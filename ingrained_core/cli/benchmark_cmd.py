"""``ingrained benchmark``: the real-data benchmark against the published results."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
@click.option("--cases", default="twin,ni,cu2o", show_default=True,
              help="comma-separated cases: twin (CdTe, Case 1), ni (Ni/M3B2, Case 2), cu2o (STM, Case 3)")
@click.option("--time", "time_limit", type=float, default=300.0, show_default=True,
              help="wall-time limit of each case's fuse, seconds")
@click.option("--out", "-o", type=click.Path(path_type=Path), default=Path("benchmarks/results"), show_default=True,
              help="folder for paper-<date>.json and paper-<date>.md")
@click.option("--runs", type=click.Path(path_type=Path), default=None,
              help="folder for the cases' run directories (default: a temporary folder)")
@click.option("--samples", type=int, default=100, show_default=True,
              help="distinct-parameter evaluations timed per case")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="override a config field in every case (e.g. the optimizer), repeatable")
def benchmark(cases: str, time_limit: float, out: Path, runs: Path | None, samples: int,
              overrides: tuple[str, ...]) -> None:
    """Benchmark ingrained against the paper on the real images (crop fixed at the paper's best)."""
    from ingrained_core.apps.benchmark import run_benchmark

    names = [c.strip() for c in cases.split(",") if c.strip()]
    from ingrained_core.engine.redact import redact_args

    # the recorded command line never holds a secret (--set structure.api_key=... is masked)
    command = "ingrained benchmark " + " ".join(redact_args(sys.argv[2:])) if len(sys.argv) > 2 else "ingrained benchmark"
    result = run_benchmark(names, time_limit=time_limit, out=out, runs_dir=runs, samples=samples,
                           overrides=list(overrides), command=command, echo=lambda s: click.echo(s, err=True))
    click.echo(result["table"])
    for p in result["paths"]:
        click.echo(p)
