"""The dashboard's charts: SVG drawn from known series, readable without the picture."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from apps.core import charts
from apps.core.charts import Series, bar_chart, line_chart, nice_ceiling

SVG = "{http://www.w3.org/2000/svg}"
DAYS = ["Mon 23", "Tue 24", "Wed 25", "Thu 26", "Fri 27", "Sat 28", "Sun 29"]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 -- the code under test wrote it


def bars(root: ET.Element) -> list[ET.Element]:
    return root.findall(f"{SVG}rect")


def test_it_draws_one_bar_per_day_in_proportion_to_its_value():
    svg = bar_chart(chart_id="calls", title="Calls per day", labels=DAYS,
                    series=Series(label="Calls", values=(10, 5, 0, 2, 10, 1, 4)))

    heights = [float(rect.get("height")) for rect in bars(parse(svg))]

    assert len(heights) == 7
    top = charts.PLOT_HEIGHT  # 10 is the scale's top: a bar of 10 fills the plot
    assert heights == pytest.approx([top, top / 2, 0, top / 5, top, top / 10, top * 0.4],
                                    abs=0.1)


def test_it_draws_zero_calls_as_a_zero_bar_and_says_zero():
    svg = bar_chart(chart_id="calls", title="Calls", labels=DAYS[:2],
                    series=Series(label="Calls", values=(0, 0)))
    root = parse(svg)

    assert [float(rect.get("height")) for rect in bars(root)] == [0, 0]
    assert root.find(f"{SVG}desc").text == "Calls: Mon 23 0; Tue 24 0."
    # An empty chart still has a scale to read: 0 to 1, not a division by zero.
    scale = [text.text for text in root.findall(f"{SVG}text")
             if text.get("class") == "dash-chart__scale"]
    assert scale == ["1", "0"]


def test_it_marks_a_day_without_data_apart_from_a_zero():
    svg = bar_chart(chart_id="rate", title="Success rate", labels=DAYS[:3], unit="%",
                    decimals=1, max_value=100,
                    series=Series(label="Success rate", values=(97.5, None, 0), tone="ok"))
    root = parse(svg)

    assert len(bars(root)) == 2  # 97.5 and 0; the empty day has no bar
    none_marks = [text for text in root.findall(f"{SVG}text")
                  if text.get("class") == "dash-chart__none"]
    assert len(none_marks) == 1
    assert none_marks[0].find(f"{SVG}title").text == "Tue 24: no data"
    assert root.find(f"{SVG}desc").text == (
        "Success rate: Mon 23 97.5 %; Tue 24 no data; Wed 25 0 %.")
    assert "dash-chart__mark--ok" in bars(root)[0].get("class")


def test_it_gives_every_bar_a_tooltip_with_its_day_and_value():
    svg = bar_chart(chart_id="dead", title="Dead", labels=DAYS[:2],
                    series=Series(label="Dead operations", values=(3, 1)))

    tooltips = [rect.find(f"{SVG}title").text for rect in bars(parse(svg))]

    assert tooltips == ["Mon 23: 3", "Tue 24: 1"]


def test_it_labels_the_chart_for_screen_readers():
    svg = bar_chart(chart_id="Dimona calls", title="dimona: calls per day", labels=DAYS[:1],
                    series=Series(label="Calls", values=(4,)))
    root = parse(svg)

    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "dimona-calls-title dimona-calls-desc"
    assert root.find(f"{SVG}title").get("id") == "dimona-calls-title"
    assert root.find(f"{SVG}title").text == "dimona: calls per day"
    assert root.find(f"{SVG}desc").get("id") == "dimona-calls-desc"
    assert [text.text for text in root.findall(f"{SVG}text")
            if text.get("class") == "dash-chart__label"] == ["Mon 23"]


def test_it_escapes_every_text():
    svg = bar_chart(chart_id="x", title='<script>alert("t")</script>', labels=["<b>day</b>"],
                    series=Series(label="a & b", values=(1,)))

    assert "<script>" not in svg
    assert "<b>" not in svg
    root = parse(svg)  # still well-formed XML
    assert root.find(f"{SVG}title").text == '<script>alert("t")</script>'
    assert root.find(f"{SVG}desc").text == "a & b: <b>day</b> 1."


def test_it_draws_a_line_per_series_broken_where_a_day_has_no_data():
    svg = line_chart(chart_id="latency", title="Latency", labels=DAYS[:5], unit="ms",
                     series=[Series(label="Median", values=(100, 120, None, 90, 80)),
                             Series(label="95th percentile", values=(400, 500, None, 300, 200),
                                    tone="warning")])
    root = parse(svg)

    lines = root.findall(f"{SVG}polyline")
    assert [line.get("class").split()[-1] for line in lines] == [
        "dash-chart__line--primary", "dash-chart__line--primary",
        "dash-chart__line--warning", "dash-chart__line--warning"]
    assert [len(line.get("points").split()) for line in lines] == [2, 2, 2, 2]
    dots = root.findall(f"{SVG}circle")
    assert len(dots) == 8
    assert dots[0].find(f"{SVG}title").text == "Median, Mon 23: 100 ms"
    # The scale goes to 500 (the largest value, already round): its dot is at the top.
    assert float(dots[5].get("cy")) == pytest.approx(charts.MARGIN_TOP)
    assert root.find(f"{SVG}desc").text == (
        "Median: Mon 23 100 ms; Tue 24 120 ms; Wed 25 no data; Thu 26 90 ms; Fri 27 80 ms. "
        "95th percentile: Mon 23 400 ms; Tue 24 500 ms; Wed 25 no data; Thu 26 300 ms; "
        "Fri 27 200 ms.")
    legend = [text.text for text in root.findall(f"{SVG}text")
              if "dash-chart__legend" in (text.get("class") or "")]
    assert legend == ["Median", "95th percentile"]


def test_it_draws_no_line_for_a_series_without_any_data():
    svg = line_chart(chart_id="latency", title="Latency", labels=DAYS[:3],
                     series=[Series(label="Median", values=(None, None, None))])
    root = parse(svg)

    assert root.findall(f"{SVG}polyline") == []
    assert root.findall(f"{SVG}circle") == []
    assert root.find(f"{SVG}desc").text == (
        "Median: Mon 23 no data; Tue 24 no data; Wed 25 no data.")


def test_it_keeps_a_value_above_a_fixed_top_inside_the_chart():
    svg = bar_chart(chart_id="rate", title="Rate", labels=DAYS[:1], max_value=100,
                    series=Series(label="Rate", values=(150,)))

    assert float(bars(parse(svg))[0].get("height")) == pytest.approx(charts.PLOT_HEIGHT)


def test_it_refuses_a_series_that_does_not_match_its_labels():
    with pytest.raises(ValueError, match="3 values for 2 labels"):
        bar_chart(chart_id="x", title="x", labels=DAYS[:2],
                  series=Series(label="Calls", values=(1, 2, 3)))


@pytest.mark.parametrize(("value", "ceiling"), [
    (0, 1), (0.3, 0.5), (1, 1), (3, 5), (7, 10), (12, 20), (100, 100), (101, 200), (4321, 5000),
])
def test_it_rounds_the_scale_up_to_a_readable_number(value, ceiling):
    assert nice_ceiling(value) == pytest.approx(ceiling)


def test_it_writes_numbers_without_needless_decimals():
    assert charts.format_number(12.0) == "12"
    assert charts.format_number(97.5, decimals=1) == "97.5"
    assert charts.format_number(100.0, decimals=1) == "100"
    assert re.fullmatch(r"\d+", charts.format_number(2.4))
