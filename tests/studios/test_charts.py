"""The Partner Dashboard's server-side bar charts."""

from studios.charts import bar_chart


def test_bars_scale_to_the_highest_value_and_say_it():
    chart = bar_chart("Visits", [("a", 2), ("b", 4), ("c", -3)], width=300, height=128)
    assert chart.max_label == "4"
    heights = [bar.height for bar in chart.bars]
    assert heights == [50.0, 100.0, 0.0]  # a plot of 128 - 28; a negative value draws nothing


def test_a_chart_with_nothing_above_zero_names_no_top():
    """All zeros (a campaign's first day) must not read '(top 1)'."""
    assert bar_chart("Clicks", [("a", 0), ("b", 0)]).max_label == ""
    assert bar_chart("Earnings", [("a", -500)], fmt=lambda v: f"${v / 100:.2f}").max_label == ""
    assert bar_chart("Nothing", []).max_label == ""
