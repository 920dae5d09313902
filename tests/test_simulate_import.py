"""Simulated files go through the store's importers, and the store recovers the ground truth."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import baton_lab as bl
from baton_lab.simulate import simulate


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    sim = simulate("log-nobody-reads", seed=21, sessions=120, namespaces=2)
    out = tmp_path_factory.mktemp("sim")
    sim.write(out, ["v1", "v2"])
    lab = bl.open(out / "store.duckdb")
    ns_v1 = sim.namespaces[0]
    lab.import_(out / "v1" / ns_v1, namespace=ns_v1)
    lab.import_(out / "v2" / sim.namespaces[1])
    return sim, lab


def test_every_snapshot_is_stored_in_session_order(imported) -> None:  # noqa: ANN001
    sim, lab = imported
    assert lab.quarantine().height == 0
    truth = sim.truth()["sessions"]
    for ns in sim.namespaces:
        snaps = lab.snapshots(ns).sort("seq")
        assert snaps["seq"].to_list() == list(range(1, 61))
        assert snaps["session_id"].to_list() == truth.filter(namespace=ns)["session_id"].to_list()


def test_store_events_recover_loop_outcomes(imported) -> None:  # noqa: ANN001
    sim, lab = imported
    ns = sim.namespaces[0]
    loops = sim.truth()["loops"].filter(namespace=ns)
    events = lab.events(ns)
    disappeared = events.filter((pl.col("tier") == "open_loop") & (pl.col("event") == "disappeared"))
    dropped = disappeared.filter(pl.col("from_value") == "open")
    expected = loops.filter(pl.col("dropped") & pl.col("removed_seq").is_not_null())
    assert sorted(dropped["item_id"].to_list()) == sorted(expected["item_id"].to_list())
    assert dict(zip(dropped["item_id"], dropped["seq"])) == dict(zip(expected["item_id"], expected["removed_seq"]))
    failed = events.filter((pl.col("tier") == "open_loop") & (pl.col("to_value") == "failed"))
    assert sorted(failed["item_id"].to_list()) == sorted(loops.filter(outcome="failed")["item_id"].to_list())


def test_store_sees_the_truths_occurrences_and_graduations(imported) -> None:  # noqa: ANN001
    sim, lab = imported
    ns = sim.namespaces[0]
    truth = sim.truth()
    pats = truth["patterns"].filter(namespace=ns)
    grads = lab.events(ns).filter((pl.col("tier") == "pattern") & (pl.col("to_value") == "graduated"))
    assert dict(zip(grads["item_id"], grads["seq"])) == {
        r["item_id"]: r["graduated_seq"] for r in pats.filter(pl.col("graduated_seq").is_not_null()).to_dicts()
    }
    occ = truth["pattern_occurrences"].filter(namespace=ns)
    increments = lab.events(ns).filter((pl.col("tier") == "pattern") & (pl.col("event") == "count_changed"))
    assert increments.height > 0
    assert increments["delta"].cast(pl.Int64).sum() == occ["n"].sum() - pats.height


def test_v2_revisions_gaps_are_the_unseen_ones(imported) -> None:  # noqa: ANN001
    sim, lab = imported
    ns = sim.namespaces[1]
    revisions = lab.snapshots(ns).sort("seq")["revision"].to_list()
    unseen = sim.truth()["unseen_revisions"].filter(namespace=ns)["revision"].to_list()
    assert sorted(set(range(1, revisions[-1] + 1)) - set(revisions)) == sorted(unseen)
