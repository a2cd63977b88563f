"""Adsorption energies computed with ASE's EMT calculator.

No data can be downloaded where this project is built and tested, so the example workload makes
its own: small adsorbates (H, C, N, O, OH, CO) on fcc(111) and fcc(100) slabs of the seven EMT
metals and of random binary alloys of them. Each structure is

* a 2x2x3 slab (all metal atoms fixed, lattice constant from Vegard's law for alloys),
* an adsorbate placed at a named site with a little random lateral and height jitter,
* a short BFGS relaxation of the adsorbate only (``FixAtoms`` on the slab).

The adsorption energy is ``E(slab+ads) - E(clean slab) - sum of gas references``, with references
1/2 E(H2), 1/2 E(O2), 1/2 E(N2) and E(CH4) - 2 E(H2) for carbon, all relaxed with EMT. Without the
relaxation, adsorbates at random heights give energies spread over ~6 eV; with it the spread is
a few tenths of an eV and the usual site ordering (hollow binds more strongly than top) holds.

Structure ``i`` of a data set depends only on ``(seed, i)``, so generation is deterministic however
the work is split between processes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import multiprocessing
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from ase import Atoms
from ase.build import add_adsorbate, fcc100, fcc111, molecule
from ase.calculators.emt import EMT
from ase.constraints import FixAtoms
from ase.data import atomic_numbers, reference_states
from ase.optimize import BFGS

# Bump when the recipe changes so cached files made by an older recipe are not reused.
GENERATOR_VERSION = 1

METALS: tuple[str, ...] = ("Al", "Ni", "Cu", "Pd", "Ag", "Pt", "Au")

# Adsorbates as (symbols, positions relative to the binding atom, which comes first).
ADSORBATES: dict[str, tuple[str, tuple[tuple[float, float, float], ...]]] = {
    "H": ("H", ((0.0, 0.0, 0.0),)),
    "C": ("C", ((0.0, 0.0, 0.0),)),
    "N": ("N", ((0.0, 0.0, 0.0),)),
    "O": ("O", ((0.0, 0.0, 0.0),)),
    "OH": ("OH", ((0.0, 0.0, 0.0), (0.0, 0.0, 0.97))),
    "CO": ("CO", ((0.0, 0.0, 0.0), (0.0, 0.0, 1.15))),
}

SITES: dict[str, tuple[str, ...]] = {
    "fcc111": ("ontop", "bridge", "fcc", "hcp"),
    "fcc100": ("ontop", "bridge", "hollow"),
}

# Starting heights (Å) above the surface; the relaxation finds the real one.
_START_HEIGHT = {"ontop": 1.8, "bridge": 1.5, "fcc": 1.2, "hcp": 1.2, "hollow": 1.0}


@dataclass(frozen=True)
class GenerationSpec:
    """Recipe of a generated data set; its fingerprint names the cache file."""

    size: int
    seed: int = 0
    adsorbates: tuple[str, ...] = tuple(ADSORBATES)
    metals: tuple[str, ...] = METALS
    facets: tuple[str, ...] = tuple(SITES)
    alloy_fraction: float = 0.5
    slab_size: tuple[int, int, int] = (2, 2, 3)
    vacuum: float = 6.0
    relax_steps: int = 30
    fmax: float = 0.05
    jitter: float = 0.15
    version: int = field(default=GENERATOR_VERSION)

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"GenerationSpec.size must be at least 1, but got {self.size}")
        unknown = set(self.adsorbates) - set(ADSORBATES) | set(self.facets) - set(SITES)
        unknown |= set(self.metals) - set(METALS)
        if unknown:
            raise ValueError(f"GenerationSpec has unsupported entries {sorted(unknown)}")

    def fingerprint(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


@functools.cache
def gas_references() -> dict[str, float]:
    """EMT energy per atom of each adsorbate element in its gas reference (eV)."""

    def relaxed(name: str) -> float:
        gas = molecule(name)
        gas.center(vacuum=5.0)
        gas.calc = EMT()
        BFGS(gas, logfile=None).run(fmax=0.01, steps=200)
        return float(gas.get_potential_energy())

    h2, o2, n2, ch4 = (relaxed(m) for m in ("H2", "O2", "N2", "CH4"))
    return {"H": h2 / 2, "O": o2 / 2, "N": n2 / 2, "C": ch4 - 2 * h2}


def _lattice_constant(symbols: Sequence[str]) -> float:
    # Vegard's law over the actual composition of the slab.
    constants = [float(reference_states[atomic_numbers[s]]["a"])  # type: ignore[index, arg-type]
                 for s in symbols]
    return float(np.mean(constants))


def _make_slab(spec: GenerationSpec, rng: np.random.Generator) -> Atoms:
    facet = spec.facets[rng.integers(len(spec.facets))]
    build = fcc111 if facet == "fcc111" else fcc100
    n_atoms = int(np.prod(spec.slab_size))
    first = spec.metals[rng.integers(len(spec.metals))]
    symbols = [first] * n_atoms
    if len(spec.metals) > 1 and rng.random() < spec.alloy_fraction:
        others = [m for m in spec.metals if m != first]
        second = others[rng.integers(len(others))]
        fraction = rng.uniform(0.25, 0.75)
        symbols = [second if u < fraction else first for u in rng.random(n_atoms)]
    slab = build(first, spec.slab_size, a=_lattice_constant(symbols), vacuum=spec.vacuum)
    slab.set_chemical_symbols(symbols)
    slab.info["facet"] = facet
    return slab


def make_structure(spec: GenerationSpec, index: int) -> Atoms:
    """Build, relax and label structure ``index`` of the data set ``spec``."""
    rng = np.random.default_rng([spec.seed, index])
    slab = _make_slab(spec, rng)
    facet = slab.info.pop("facet")
    slab.calc = EMT()
    e_slab = float(slab.get_potential_energy())

    name = spec.adsorbates[rng.integers(len(spec.adsorbates))]
    symbols, positions = ADSORBATES[name]
    sites = SITES[facet]
    site = sites[rng.integers(len(sites))]
    system = slab.copy()
    height = _START_HEIGHT[site] + rng.normal(0.0, 0.05)
    add_adsorbate(system, Atoms(symbols, positions=positions), height, site)
    # Jitter so the same site on the same slab is not sampled twice exactly.
    n_ads = len(symbols)
    shift = np.zeros(3)
    shift[:2] = rng.normal(0.0, spec.jitter, 2)
    system.positions[-n_ads:] += shift
    system.set_constraint(FixAtoms(indices=range(len(slab))))
    system.calc = EMT()
    optimiser = BFGS(system, logfile=None)
    converged = bool(optimiser.run(fmax=spec.fmax, steps=spec.relax_steps))
    e_system = float(system.get_potential_energy())

    refs = gas_references()
    energy = e_system - e_slab - sum(refs[s] for s in system.get_chemical_symbols()[-n_ads:])
    result = Atoms(system.numbers, positions=system.positions, cell=system.cell, pbc=system.pbc,
                   tags=system.get_tags())  # a bare copy: no calculator, constraint or site table
    result.info.update(adsorption_energy=energy, adsorbate=name, site=site, facet=facet,
                       slab=slab.get_chemical_formula(), converged=converged, index=index)
    return result


def _make_one(args: tuple[GenerationSpec, int]) -> Atoms:
    return make_structure(*args)


def generate(spec: GenerationSpec, workers: int | None = None) -> list[Atoms]:
    """All structures of ``spec``, in index order, computed on ``workers`` processes."""
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    # A spawned worker costs about a second to start (imports), the time of ~100 structures.
    workers = max(1, min(workers, spec.size // 100))
    jobs = [(spec, i) for i in range(spec.size)]
    if workers == 1:
        return [_make_one(job) for job in jobs]
    # "spawn" because the caller may already hold torch/OpenMP threads, which fork does not copy.
    ctx = multiprocessing.get_context("spawn")
    chunk = max(1, spec.size // (workers * 8))
    with ctx.Pool(workers) as pool:
        return list(pool.imap(_make_one, jobs, chunksize=chunk))
