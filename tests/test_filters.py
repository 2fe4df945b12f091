"""One Filters parser for pages, callbacks and exports: valid values kept, bad ones dropped and explained."""
from __future__ import annotations

from queries.filters import MAX_LIST, Filters, parse_filters


def test_round_trip_through_query_string(reference):
    f = Filters(areas=("SWE",), forces=("E23000036",), period_from="2022-01", period_to="2024-12", grain="quarter")
    parsed = parse_filters(f.to_query(), reference)
    assert parsed.filters == f and parsed.errors == ()


def test_bad_values_are_dropped_with_messages(reference):
    parsed = parse_filters({"area": ["SWE", "XXX"], "from": "2024-13", "to": "2024-02", "grain": "week",
                            "workstream": "nope"}, reference)
    assert parsed.filters == Filters(areas=("SWE",), period_to="2024-02")
    assert len(parsed.errors) == 4
    assert "Unknown CPS Area 'XXX'" in parsed.errors[0]


def test_from_after_to_falls_back_to_all_months(reference):
    parsed = parse_filters({"from": "2024-05", "to": "2024-01"}, reference)
    assert (parsed.filters.period_from, parsed.filters.period_to) == (None, None)
    assert "after 'to'" in parsed.errors[0]


def test_force_outside_chosen_areas_is_dropped(reference):
    parsed = parse_filters({"area": "SWE", "force": ["E23000036", "E23000030"]}, reference)
    assert parsed.filters.forces == ("E23000036",)
    assert "E23000030" in parsed.errors[0]


def test_crafted_inputs_are_bounded(reference):
    parsed = parse_filters({"area": ["SWE"] * (MAX_LIST + 1), "force": "x" * 5000}, reference)
    assert parsed.filters.areas == () and parsed.filters.forces == ()
    assert all(len(e) < 200 for e in parsed.errors)


def test_comma_separated_and_repeated_values_agree(reference):
    a = parse_filters({"area": "SWE,WES"}, reference).filters
    b = parse_filters({"area": ["SWE", "WES"]}, reference).filters
    assert a == b and a.areas == ("SWE", "WES")
