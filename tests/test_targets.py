"""Targets: the catalogue's national target, or an Area's own target when that Area alone is shown."""
from __future__ import annotations

import pytest

from queries.exceptions import exception_list
from queries.assurance import monthly_values
from queries.filters import Filters
from queries.metrics import monthly_sums
from queries.reference import ReferenceError, read_reference_files
from queries.tiles import headline_tiles

PERIOD = ("2024-01", "2024-12")


def test_area_target_overrides_national_only_for_that_area(seeded):
    ref = seeded.ref
    assert ref.metrics["early_advice_rate"].target == 0.9
    assert ref.metric_for("early_advice_rate", ("SEA",)).target == 0.95
    assert ref.metric_for("early_advice_rate", ("SEA", "WES")).target == 0.9     # several Areas: national
    assert ref.metric_for("early_advice_rate", ("NEA",)).target == 0.9
    assert ref.metric_for("charge_rate", ("SEA",)).target is None
    sea = headline_tiles(seeded.engine, Filters(areas=("SEA",)), ref, PERIOD)["early_advice_rate"]
    national = headline_tiles(seeded.engine, Filters(), ref, PERIOD)["early_advice_rate"]
    assert sea.metric.target == 0.95 and national.metric.target == 0.9
    assert sea.target_met == (sea.value >= 0.95)
    assert sea.spc.target == 0.95


def test_exceptions_use_each_areas_own_target(seeded):
    ref = seeded.ref
    values = monthly_values(monthly_sums(seeded.engine, Filters(period_to="2024-12"), ["nfa_scrutiny_rate"],
                                         level="area"), ref)
    items = {i.area_code: i for i in exception_list(values, ref, Filters(), "2024-12")}
    assert "WMD" in items and items["WMD"].spc.target == 0.7
    assert all(i.spc.target == 0.5 for a, i in items.items() if a != "WMD")


def test_bad_targets_file_is_refused_with_line_and_field(tmp_path):
    import shutil
    from queries.reference import REFERENCE_DIR
    for f in REFERENCE_DIR.iterdir():
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "targets.csv").write_text("metric_code,area_code,target,note\ncharge_rate,SEA,1.5,x\n")
    with pytest.raises(ReferenceError, match=r"targets.csv, line 2, field target: 1.5 is out of range"):
        read_reference_files(tmp_path)
    (tmp_path / "targets.csv").write_text("metric_code,area_code,target,note\ncharge_rate,ZZZ,0.5,x\n")
    with pytest.raises(ReferenceError, match="line 2, field area_code"):
        read_reference_files(tmp_path)
