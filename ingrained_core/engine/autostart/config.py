"""``[autostart]``: how automatic starts (``start = "auto"``) are estimated and ranked."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AutoStartConfig(BaseModel):
    """``[autostart]``: the lattice estimate, the global stage and the calibration check."""

    model_config = ConfigDict(extra="forbid")

    candidates: int = Field(4, ge=1, le=50, description="start candidates (best lattice matches, then the "
                            "file's calibration) taken into the global stage")
    min_relative_score: float = Field(0.8, ge=0, le=1, description="lattice candidates enter the global stage "
                                      "when their lattice score is at least this fraction of the best one's")
    around: int = Field(4, ge=0, le=200, description="extra starts sampled around each candidate in the global stage")
    evaluate: bool = Field(True, description="rank the candidates by FOM (the global stage); false: take the best "
                           "lattice match as it is")
    pixel_spread: float = Field(0.02, ge=0, le=0.5, description="relative pixel-size spread of the starts around a candidate")
    distortion_spread: float = Field(0.01, ge=0, le=0.5, description="shear/stretch spread of the starts around a candidate")
    rotation_spread: float = Field(2.0, ge=0, le=90, description="rotation spread (degrees) of the starts around a candidate")
    local_searches: int = Field(4, ge=1, le=64, description="when several distinct global-stage starts tie "
                                "(FOM within autostart.tie of the best), the local search runs from each of "
                                "them, up to this many, as the run's starts (in parallel as optimizer.executor "
                                "says), and the best wins; 1: from the best start only")
    race_evals: int | None = Field(500, ge=1, description="when more tied starts run than optimizer.race_keep, "
                                   "they race: each first runs this many evaluations and only the best "
                                   "optimizer.race_keep go on (sets optimizer.race_evals unless it is set); "
                                   "unset: every tied start runs its whole search")
    tie: float = Field(0.01, ge=0, le=1, description="global-stage starts whose FOM is within this fraction of "
                       "the best one's are ties: the start FOM cannot tell them apart")
    workers: int = Field(1, ge=1, le=256, description="processes evaluating the global stage's starts: 1 = "
                         "serially in the process that builds the problem; more = the starts split into that many "
                         "tasks on the parallel machinery (dask; optimizer.scheduler when set), each rebuilding "
                         "the problem once")
    estimate_workers: int | None = Field(None, ge=1, le=256, description="processes fitting the lattice maps "
                                         "into parameters (the estimate's least squares, made ahead); unset: the "
                                         "machine's cores, at most 4; 1: in the process that builds the problem")
    seed: int = Field(0, ge=0, description="seed of the starts around the candidates")
    max_peaks: int = Field(24, ge=4, le=200, description="strongest Fourier peaks used per image")
    min_peak_ratio: float = Field(30.0, gt=1, description="a peak must stand this many times above the power "
                                  "spectrum's median at its spatial frequency")
    start_distortion: Literal["none", "estimate", "auto"] = Field(
        "none", description="where the local search starts in shear and stretch: \"none\" = the winner's "
        "undistorted similarity (the lattice's scale and orientation, shear and stretch 0; the estimate kept in "
        "start.json as start_estimated); \"estimate\" = the winner's estimated values; \"auto\" = \"none\" "
        "when rotation is estimated, else \"estimate\" (the rule before 2026-12, see docs/autostart.md)")
    calibration_tolerance: float = Field(0.10, ge=0, description="warn when the fitted pixel size differs from "
                                         "the file's calibration by more than this fraction")
