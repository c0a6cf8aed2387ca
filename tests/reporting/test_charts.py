"""The dashboard's charts are server-rendered SVG that a screen reader can read: each has
`role="img"`, a `<title>` and a `<desc>` naming its figures, and the table of those
figures follows it."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from app.extensions import db
from app.reporting import services
from tests.reporting.conftest import PARIS, World
from tests.reporting.helpers import YEAR, squeeze

CHART = re.compile(r'<figure class="chart" id="(?P<id>[^"]+)">(?P<svg>.*?)</figure>', re.S)


@dataclass
class Chart:
    id: str
    svg: str
    after: str  # the page's HTML after the chart, up to the next heading or chart

    def element(self, tag: str) -> re.Match[str] | None:
        return re.search(rf'<{tag} id="(?P<id>[^"]+)">(?P<text>.*?)</{tag}>', self.svg, re.S)

    def described(self) -> list[tuple[str, str]]:
        """(label, amount) of each bar, as the description reads them."""
        desc = self.element("desc")
        assert desc is not None
        bars = []
        for item in squeeze(html.unescape(desc["text"])).split(" ; "):
            label, amount = item.rsplit(" : ", 1)
            bars.append((label.removeprefix("semaine du "), amount))
        return bars


def charts_of(source: str) -> list[Chart]:
    found = []
    for match in CHART.finditer(source):
        rest = source[match.end() :]
        end = re.search(r"<h2|<figure", rest)
        found.append(Chart(match["id"], match["svg"], rest[: end.start() if end else None]))
    return found


def table_rows(fragment: str) -> list[tuple[str, str]]:
    """(first cell, last cell) of each body row of the first table of `fragment`."""
    body = re.search(r"<tbody>(.*?)</tbody>", fragment, re.S)
    assert body is not None
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S):
        cells = [squeeze(html.unescape(c)) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)]
        rows.append((cells[0], cells[-1]))
    return rows


@pytest.fixture
def dashboard_page(world: World, paris_manager: FlaskClient) -> str:
    services.refresh(YEAR)
    db.session.commit()
    response = paris_manager.get(f"/academies/{PARIS}/tableau-de-bord?annee={YEAR}")
    return response.get_data(as_text=True)


BREAKDOWNS = ["weeks", "discipline", "level", "resource_type", "vendor", "school", "product"]


def test_every_chart_has_a_role_a_title_and_a_description(dashboard_page: str) -> None:
    charts = charts_of(dashboard_page)

    assert [chart.id for chart in charts] == [f"academy-{n}" for n in ["budget", *BREAKDOWNS]]
    for chart in charts:
        assert 'role="img"' in chart.svg, chart.id
        title, desc = chart.element("title"), chart.element("desc")
        assert title is not None, chart.id
        assert desc is not None, chart.id
        assert title["text"].strip(), chart.id
        assert desc["text"].strip(), chart.id
        assert f'aria-labelledby="{title["id"]} {desc["id"]}"' in chart.svg, chart.id


def test_the_table_of_its_figures_follows_each_breakdown_chart(dashboard_page: str) -> None:
    charts = {chart.id: chart for chart in charts_of(dashboard_page)}

    for name in BREAKDOWNS:
        chart = charts[f"academy-{name}"]
        assert chart.after.lstrip().startswith('<div class="fr-table'), chart.id
        assert table_rows(chart.after) == chart.described(), chart.id


def test_the_table_of_its_figures_follows_the_budget_chart(dashboard_page: str) -> None:
    (budget,) = [chart for chart in charts_of(dashboard_page) if chart.id == "academy-budget"]

    assert budget.after.lstrip().startswith('<div class="fr-table')
    assert table_rows(budget.after) == budget.described()
