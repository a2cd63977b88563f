"""The adsorption data sets: EMT generation, the on-disk cache, user files and their errors."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from ase.build import fcc111
from ase.calculators.singlepoint import SinglePointCalculator
from ase.db import connect
from ase.io import write
from hpo_trainer.data import (
    DATASETS,
    DatasetError,
    GenerationSpec,
    catalog,
    ensure_generated,
    gas_references,
    load_structures,
    make_structure,
    read_structures,
)

from .conftest import TINY


def test_tiny_set_has_physical_adsorption_energies(tiny_structures) -> None:
    energies = tiny_structures.targets
    assert len(tiny_structures) == DATASETS[TINY].size
    assert np.isfinite(energies).all()
    # Relaxed adsorbates: tenths of an eV, not the ~6 eV spread of unrelaxed placements.
    assert energies.std() < 1.0
    assert energies.min() > -3.0 and energies.max() < 3.0
    sites = np.array([a.info["site"] for a in tiny_structures.structures])
    hollow = np.isin(sites, ["fcc", "hcp", "hollow"])
    # Higher coordination binds more strongly than the top site, as on real metal surfaces.
    assert energies[hollow].mean() < energies[sites == "ontop"].mean()


def test_structures_carry_tags_and_metadata(tiny_structures) -> None:
    atoms = tiny_structures.structures[0]
    assert atoms.pbc.tolist() == [True, True, False]
    tags = atoms.get_tags()
    assert (tags == 0).sum() in (1, 2) and (tags > 0).sum() == 12  # adsorbate on a 2x2x3 slab
    assert {"adsorbate", "site", "facet", "slab"} <= set(atoms.info)


def test_generation_is_deterministic_per_index(tiny_structures) -> None:
    again = make_structure(DATASETS[TINY], 7)
    stored = tiny_structures.structures[7]
    assert again.get_chemical_formula() == stored.get_chemical_formula()
    assert np.allclose(again.positions, stored.positions, atol=1e-6)
    assert again.info["adsorption_energy"] == pytest.approx(float(tiny_structures.targets[7]),
                                                            abs=1e-6)


def test_gas_references_cover_the_adsorbate_elements() -> None:
    refs = gas_references()
    assert set(refs) == {"H", "C", "N", "O"}
    assert all(np.isfinite(v) for v in refs.values())


def test_second_load_reads_the_cache(tiny_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mtime = tiny_path.stat().st_mtime_ns

    def no_generation(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached data set was generated again")

    monkeypatch.setattr(catalog, "generate", no_generation)
    assert ensure_generated(TINY) == tiny_path
    assert len(load_structures(TINY)) == DATASETS[TINY].size
    assert tiny_path.stat().st_mtime_ns == mtime
    assert not list(tiny_path.parent.glob("*.tmp"))  # no half-written leftovers


def test_concurrent_first_loads_generate_once(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPO_DATA_DIR", str(tmp_path))
    monkeypatch.setitem(DATASETS, "two", GenerationSpec(size=2, seed=3))
    calls = []

    def slow_generate(spec: GenerationSpec, workers: int | None = None) -> list:
        calls.append(spec)
        threading.Event().wait(0.3)  # long enough for the other thread to reach the lock
        return [make_structure(spec, i) for i in range(spec.size)]

    monkeypatch.setattr(catalog, "generate", slow_generate)
    paths: list[Path] = []
    threads = [threading.Thread(target=lambda: paths.append(ensure_generated("two")))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert paths[0] == paths[1] and len(read_structures(paths[0])) == 2


def _slab(energy: float):
    atoms = fcc111("Cu", (1, 1, 3), vacuum=5.0)
    atoms.info["adsorption_energy"] = energy
    return atoms


def test_user_extxyz(tmp_path: Path) -> None:
    path = tmp_path / "mine.extxyz"
    write(path, [_slab(-0.5), _slab(0.25)], format="extxyz")
    data = load_structures(path)
    assert data.targets.tolist() == [-0.5, 0.25]
    assert data.path == path.resolve()


def test_user_extxyz_total_energy_key(tmp_path: Path) -> None:
    atoms = fcc111("Cu", (1, 1, 3), vacuum=5.0)
    atoms.calc = SinglePointCalculator(atoms, energy=-12.5)
    path = tmp_path / "energies.xyz"
    write(path, atoms, format="extxyz")
    assert read_structures(path, target_key="energy").targets.tolist() == [-12.5]


def test_user_ase_db(tmp_path: Path) -> None:
    path = tmp_path / "mine.db"
    with connect(path) as db:
        db.write(fcc111("Pt", (1, 1, 3), vacuum=5.0), adsorption_energy=-1.5)
        db.write(fcc111("Au", (1, 1, 3), vacuum=5.0), adsorption_energy=0.5)
    data = load_structures(str(path), max_structures=1)
    assert data.targets.tolist() == [-1.5]
    assert data.structures[0].get_chemical_symbols() == ["Pt"] * 3


def test_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.extxyz"
    with pytest.raises(FileNotFoundError, match=r"nope\.extxyz"):
        load_structures(missing)
    with pytest.raises(FileNotFoundError, match="emt-adsorption"):  # lists the known names
        load_structures("no-such-dataset")


def test_missing_energy_key_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "unlabelled.extxyz"
    write(path, fcc111("Cu", (1, 1, 3), vacuum=5.0), format="extxyz")
    with pytest.raises(DatasetError, match=r"unlabelled\.extxyz.*'adsorption_energy'"):
        load_structures(path)


def test_empty_and_foreign_files_are_rejected(tmp_path: Path) -> None:
    empty = tmp_path / "empty.extxyz"
    empty.write_text("")
    with pytest.raises(DatasetError, match=r"empty\.extxyz"):
        load_structures(empty)
    with connect(tmp_path / "empty.db"):
        pass
    with pytest.raises(DatasetError, match="no structures"):
        load_structures(tmp_path / "empty.db")
    other = tmp_path / "data.csv"
    other.write_text("a,b\n")
    with pytest.raises(DatasetError, match=r"suffix '\.csv'"):
        load_structures(other)
