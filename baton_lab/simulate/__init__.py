"""A seeded simulator of baton-driven loops, with ground truth (GitHub issue 4).

    from baton_lab.simulate import simulate, PRESETS
    sim = simulate("healthy-loop", seed=7, sessions=300, namespaces=3)
    report = sim.write("out/", formats=["v1", "v2", "sqlite", "git", "transcript"])
    sim.truth()["loops"]          # polars: which loops truly broke something, ...

Model, parameters and file layout: docs/simulator.md.
"""

from __future__ import annotations

from .model import SessionSnapshot
from .params import MIXES, PRESETS, SimParams, SimulationError
from .simulation import DEFAULT_FORMATS, Simulation, WriteReport, generate, simulate
from .writers import FORMATS

__all__ = [
    "DEFAULT_FORMATS",
    "FORMATS",
    "MIXES",
    "PRESETS",
    "SessionSnapshot",
    "SimParams",
    "Simulation",
    "SimulationError",
    "WriteReport",
    "generate",
    "simulate",
]
