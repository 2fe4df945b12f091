"""The XmR chart's y-axis: a rate's axis stays within 0% to 100% even when its process limits do not."""

from dataclasses import replace

import polars as pl
import pytest

from dashboard.spc_figures import xmr_figure
from queries.assurance import series_spc
from queries.months import month_range

MONTHS = month_range("2022-01", "2023-12")


def chart(reference, unit: str, values: list[float]):
    metric = replace(next(iter(reference.metrics.values())), unit=unit, target=None)
    frame = pl.DataFrame({"period": MONTHS, "value": values, "suppressed": [False] * len(MONTHS)})
    return series_spc(frame, metric, MONTHS, None)


def test_rate_axis_is_clipped_to_0_and_100_percent_not_the_limits(reference):
    # Alternating 95% and 100%: mean 97.5%, mean MR 5 points, limits 97.5 +/- 13.3 -> 84.2% to 110.8%.
    spc = chart(reference, "rate", [0.95, 1.0] * 12)
    assert spc.table["upper_limit"][0] == pytest.approx(0.975 + 2.66 * 0.05)  # the limit is drawn as computed
    axis = xmr_figure(spc).layout.yaxis
    assert (axis.autorangeoptions.clipmin, axis.autorangeoptions.clipmax) == (0, 1)
    assert axis.range is None  # still autoranged within those bounds


def test_other_units_keep_a_free_axis(reference):
    axis = xmr_figure(chart(reference, "count", [95.0, 100.0] * 12)).layout.yaxis
    assert axis.autorangeoptions.clipmin is None and axis.autorangeoptions.clipmax is None
