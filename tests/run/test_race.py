"""Racing the starts (``optimizer.race_evals``): a short race, then the best go on, each
continuing its own search exactly; ``race.json`` and ``resume``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from ingrained_core.apps.api import fuse, resume
from ingrained_core.engine.config import load_config
from ingrained_core.engine.race import races


STARTS, RACE, BUDGET = 4, 12, 40
SERIAL = ["optimizer.executor=serial"]


def _rows(run: Path, start: int) -> list[dict[str, str]]:
    with open(run / "starts" / f"{start:02d}" / "progress.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _path(rows: list[dict[str, str]]) -> list[tuple[str, ...]]:
    """What the optimizer did: the parameters and FOM of every evaluation (not the times)."""
    return [tuple(v for k, v in r.items() if k != "elapsed_s") for r in rows]


def _race(lattice_case: Path, out: Path, *extra: str):
    return fuse(lattice_case, out, starts=STARTS, max_evals=BUDGET,
                overrides=[*SERIAL, f"optimizer.race_evals={RACE}", "optimizer.race_keep=2", *extra])


def test_the_best_after_the_race_go_on_and_end_where_uninterrupted_searches_end(lattice_case: Path,
                                                                                   tmp_path: Path) -> None:
    full = fuse(lattice_case, tmp_path / "full", starts=STARTS, max_evals=BUDGET, overrides=SERIAL)
    raced = _race(lattice_case, tmp_path / "race")
    run = tmp_path / "race"
    # who goes on, computed from the uninterrupted searches' own first RACE evaluations
    at_race = {k: min(float(r["fom"]) for r in _rows(tmp_path / "full", k)[:RACE]) for k in range(STARTS)}
    expected = sorted(range(STARTS), key=lambda k: (at_race[k], k))[:2]
    record = json.loads((run / "race.json").read_text())
    assert record["go_on"] == expected and record["race_evals"] == RACE and record["keep"] == 2
    assert [r["start"] for r in record["ranking"]] == sorted(range(STARTS), key=lambda k: (at_race[k], k))
    assert [r["fom"] for r in record["ranking"]] == pytest.approx(sorted(at_race.values()))
    for k in range(STARTS):
        mine, theirs = _path(_rows(run, k)), _path(_rows(tmp_path / "full", k))
        if k in expected:  # replayed, then continued: the uninterrupted search, evaluation for evaluation
            assert mine == theirs
        else:
            assert mine == theirs[:RACE]
        assert (run / "starts" / f"{k:02d}" / "fused.png").is_file()
    best = json.loads((run / "best.json").read_text())
    assert best["race"] == record
    assert raced.fom == min(min(float(r["fom"]) for r in _rows(run, k)) for k in range(STARTS))
    assert raced.fom >= full.fom  # the race can only drop starts
    for k in expected:  # a start that went on ran in two segments: the race, then the rest
        segments = json.loads((run / "starts" / f"{k:02d}" / "best.json").read_text())["segments"]
        assert [s["evaluations"] for s in segments] == [0, RACE]
        assert segments[1]["started_at"] >= segments[0]["started_at"]
        assert segments[1]["elapsed_s"] == pytest.approx(float(_rows(run, k)[RACE - 1]["elapsed_s"]))


def test_resume_continues_the_starts_the_race_chose(lattice_case: Path, tmp_path: Path) -> None:
    """A kill after the race: race.json decides, the race is not run again, and the run ends
    where the uninterrupted one ends."""
    whole = _race(lattice_case, tmp_path / "whole")
    run = tmp_path / "cut"
    _race(lattice_case, run)
    record = json.loads((run / "race.json").read_text())
    stopped = [k for k in range(STARTS) if k not in record["go_on"]]
    before = {k: (run / "starts" / f"{k:02d}" / "progress.csv").read_text() for k in stopped}
    for k in record["go_on"]:  # as a kill leaves them: part of the log, best.json still running
        log = run / "starts" / f"{k:02d}" / "progress.csv"
        lines = log.read_text().splitlines(keepends=True)
        log.write_text("".join(lines[: 1 + RACE + 5]))
        best = json.loads((run / "starts" / f"{k:02d}" / "best.json").read_text())
        best.update(status="running", stop_reason="")
        (run / "starts" / f"{k:02d}" / "best.json").write_text(json.dumps(best))
    (run / "best.json").unlink()
    again = resume(run)
    assert again.fom == whole.fom
    for k in range(STARTS):
        assert _path(_rows(run, k)) == _path(_rows(tmp_path / "whole", k))
    for k in stopped:  # the race's starts were not run again
        assert (run / "starts" / f"{k:02d}" / "progress.csv").read_text() == before[k]
    assert json.loads((run / "race.json").read_text()) == record


def test_resume_inside_the_race_runs_the_race_to_its_end(lattice_case: Path, tmp_path: Path) -> None:
    whole = _race(lattice_case, tmp_path / "whole")
    run = tmp_path / "cut"
    _race(lattice_case, run)
    (run / "race.json").unlink()  # killed during the race: no decision written yet
    for k in range(STARTS):
        log = run / "starts" / f"{k:02d}" / "progress.csv"
        lines = log.read_text().splitlines(keepends=True)
        log.write_text("".join(lines[: 1 + RACE // 2]))
        (run / "starts" / f"{k:02d}" / "best.json").unlink()
    (run / "best.json").unlink()
    again = resume(run)
    assert again.fom == whole.fom
    assert json.loads((run / "race.json").read_text()) == json.loads((tmp_path / "whole" / "race.json").read_text())
    for k in range(STARTS):
        assert _path(_rows(run, k)) == _path(_rows(tmp_path / "whole", k))


@pytest.mark.parametrize(("starts", "race", "budget", "expected"), [
    (4, 12, 40, True), (2, 12, 40, False), (4, None, 40, False), (4, 40, 40, False), (4, 12, None, True)])
def test_races_only_with_more_starts_than_go_on_and_a_shorter_race(lattice_case: Path, starts: int,
                                                                   race: int | None, budget: int | None,
                                                                   expected: bool) -> None:
    sets = [f"optimizer.starts={starts}"] + ([f"optimizer.race_evals={race}"] if race else [])
    sets += [f"optimizer.max_evals={budget}"] if budget else []
    assert races(load_config(lattice_case, sets)) is expected


def test_benchmark_times_a_raced_start_on_the_wall_clock_of_its_segment() -> None:
    """Evaluation k of a start that went on after a race ran in its second segment."""
    from ingrained_core.apps.benchmark import seconds_to_final_from_fuse

    best = {"started_at": 1100.0, "segments": [{"started_at": 1002.0, "elapsed_s": 0.0, "evaluations": 0},
                                                {"started_at": 1100.0, "elapsed_s": 30.0, "evaluations": 500}]}
    late = {"seconds_to_final_fom": 41.0, "evals_to_final_fom": 900}
    early = {"seconds_to_final_fom": 12.0, "evals_to_final_fom": 400}
    assert seconds_to_final_from_fuse(best, late, 1000.0, 0.5) == pytest.approx(100.0 + 11.0)
    assert seconds_to_final_from_fuse(best, early, 1000.0, 0.5) == pytest.approx(2.0 + 12.0)
    plain = {"started_at": 1002.0}  # one segment, or a record from before segments
    assert seconds_to_final_from_fuse(plain, early, 1000.0, 0.5) == pytest.approx(14.0)
