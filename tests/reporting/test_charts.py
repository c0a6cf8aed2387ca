"""The dashboard's figures are written once each, in tables a screen reader can read: a
ranking is one table (label, purchases, net amount, share) whose bars, drawn beside the
figures, are hidden from screen readers; the weeks are a server-rendered SVG chart with
`role="img"`, a `<title>` and a `<desc>`, whose amounts are in the table of the weeks."""

from __future__ import annotations

import html
import re

import pytest
from flask.testing import FlaskClient

from app.extensions import db
from app.reporting import services
from tests.reporting.conftest import PARIS, World
from tests.reporting.helpers import YEAR, euros, visible_text

CHART = re.compile(r'<figure class="chart" id="(?P<id>[^"]+)">(?P<svg>.*?)</figure>', re.S)
DIMENSIONS = ["discipline", "level", "resource_type", "vendor", "school", "product"]


def table_rows(fragment: str) -> list[list[str]]:
    """The cells of each body row of the first table of `fragment`."""
    body = re.search(r"<tbody>(.*?)</tbody>", fragment, re.S)
    assert body is not None
    return [
        [visible_text(cell) for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    ]


def panel(source: str, name: str) -> str:
    found = re.search(rf'<div id="academy-panel-{name}".*?</table>', source, re.S)
    assert found is not None, name
    return found.group()


@pytest.fixture
def dashboard_page(world: World, paris_manager: FlaskClient) -> str:
    services.refresh(YEAR)
    db.session.commit()
    response = paris_manager.get(f"/academies/{PARIS}/tableau-de-bord?annee={YEAR}")
    return response.get_data(as_text=True)


def test_the_weeks_chart_has_a_role_a_title_and_a_description(dashboard_page: str) -> None:
    (chart,) = CHART.finditer(dashboard_page)

    assert chart["id"] == "academy-weeks"
    svg = chart["svg"]
    assert 'role="img"' in svg
    title = re.search(r'<title id="(?P<id>[^"]+)">(?P<text>.*?)</title>', svg, re.S)
    desc = re.search(r'<desc id="(?P<id>[^"]+)">(?P<text>.*?)</desc>', svg, re.S)
    assert title is not None
    assert title["text"].strip()
    assert desc is not None
    assert desc["text"].strip()
    assert f'aria-labelledby="{title["id"]} {desc["id"]}"' in svg
    assert "€" not in html.unescape(svg)  # the amounts are in the table of the weeks


def test_the_table_of_the_weeks_gives_each_weeks_amount(dashboard_page: str) -> None:
    weeks = services.dashboard(YEAR, PARIS).weeks

    rows = table_rows(panel(dashboard_page, "weeks"))

    assert rows == [
        [f"{w.label[8:]}/{w.label[5:7]}/{w.label[:4]}", str(w.count), euros(w.cents)] for w in weeks
    ]


def test_each_ranking_is_one_table_with_its_bars_hidden_from_screen_readers(
    dashboard_page: str,
) -> None:
    dash = services.dashboard(YEAR, PARIS)

    for name in DIMENSIONS:
        source = panel(dashboard_page, name)
        bars = dash.rankings[name].with_rest
        total = sum(bar.cents for bar in bars)
        assert table_rows(source) == [
            [bar.label, str(bar.count), euros(bar.cents), f"{bar.cents / total * 100:.0f} %"]
            for bar in bars
        ], name
        assert source.count('<svg class="cr-bar" aria-hidden="true"') == len(bars), name
