"""The accessibility audit: 20 of the most used pages, across the roles, checked by axe-core
(every rule of WCAG 2.x A and AA and axe's best practices, at any impact) in Chromium and by
the Nu HTML Checker (vnu) on the HTML the server sent. Not one violation, not one error.

The figures are also the ones the accessibility declaration shows: they are kept in
app/site/accessibility_audit.json, rewritten only by `make accessibility-audit`
(UPDATE_ACCESSIBILITY_AUDIT=1). Otherwise the test checks that the file lists the same pages
and the same figures as this run, so the declaration cannot drift from the site.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, ViewportSize
from sqlalchemy import select

from app.accounts import services as accounts
from app.accounts.models import Role, User
from app.core.errors import Conflict
from app.demo import DEMO_PASSWORD
from app.extensions import db
from app.orders import services as orders
from app.orders.models import Order
from app.pooled_purchases import services as pooled_purchases
from app.products.models import PlanKind, Product, ProductVersion, VersionStatus
from app.vendors.models import Vendor
from tests.browser.conftest import ARTIFACTS, REPORT_VIOLATIONS, settle, watch

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core"
VNU = ROOT / "node_modules" / "vnu-jar"
AUDIT_FILE = ROOT / "app" / "site" / "accessibility_audit.json"
UPDATE = "UPDATE_ACCESSIBILITY_AUDIT"

# Who browses, in French (as the declaration says it) and with which demo account.
ROLES: dict[str, tuple[str, str | None]] = {
    "visitor": ("visiteur", None),
    "teacher": ("enseignant", "camille.enseignante@ac-paris.fr"),
    "vendor": ("éditeur", "vendor@demo.test"),
    "academy": ("académie", "academy@demo.test"),
    "reviewer": ("commission", "reviewer@demo.test"),
    "admin": ("opérateur national", "admin@demo.test"),
}


@dataclass(frozen=True)
class Audited:
    title: str
    path: str  # {product}, {order}, {vendor}, {version}: demo records found at run time
    role: str


# The audited pages, by role (one browser context each).
PAGES = (
    Audited("Connexion", "/connexion", "visitor"),
    Audited("Catalogue", "/catalogue", "visitor"),
    Audited("Fiche d’une ressource", "/catalogue/{product}", "visitor"),
    Audited("Données ouvertes", "/donnees-ouvertes", "visitor"),
    Audited("Mon compte ressources", "/mon-compte", "teacher"),
    Audited("Mon panier", "/panier", "teacher"),
    Audited("Détail d’une commande", "/mes-commandes/{order}", "teacher"),
    Audited("Mes ressources", "/mes-ressources", "teacher"),
    Audited("Achats groupés de mon établissement", "/achats-groupes", "teacher"),
    Audited("Achat groupé", "/achats-groupes/{pooled}", "teacher"),
    Audited("Mon profil", "/mon-profil/", "teacher"),
    Audited("Notifications", "/notifications", "teacher"),
    Audited("Espace éditeur", "/editeur/{vendor}", "vendor"),
    Audited("Nouvelle ressource", "/editeur/{vendor}/produits/nouveau", "vendor"),
    Audited("Codes d’activation", "/editeur/{vendor}/codes", "vendor"),
    Audited("Versements", "/editeur/{vendor}/versements", "vendor"),
    Audited("Accueil de l’académie", "/academies/01", "academy"),
    Audited("Tableau de bord de l’académie", "/academies/01/tableau-de-bord", "academy"),
    Audited("Répartitions des crédits", "/academies/01/repartitions", "academy"),
    Audited("Versions à examiner", "/commission", "reviewer"),
    Audited("Examen d’une version", "/commission/versions/{version}", "reviewer"),
    Audited("Éditeurs", "/admin/editeurs", "admin"),
    Audited("Tableau de bord national", "/admin/tableau-de-bord", "admin"),
)

# axe: WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's best practices; every impact.
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}


# axe looks at each page at both widths; the HTML checker once.
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
MOBILE: ViewportSize = {"width": 375, "height": 812}


def package_version(folder: Path) -> str:
    return str(json.loads((folder / "package.json").read_text())["version"])


def demo_records(app: Flask) -> dict[str, int]:
    """The ids the paths need, from the seeded demo; the teacher's cart gets one line."""
    with app.app_context():
        teacher = accounts.find_user("camille.enseignante@ac-paris.fr")
        vendor_user = accounts.find_user("vendor@demo.test")
        assert teacher is not None
        assert vendor_user is not None
        vendor = vendor_user.scopes(Role.VENDOR)[0]
        assert isinstance(vendor, Vendor)
        listed = db.session.scalars(
            select(ProductVersion.product_id)
            .join(ProductVersion.product)
            .where(ProductVersion.listed, Product.vendor_id == vendor.id)
            .order_by(ProductVersion.product_id)
        ).all()
        product = next(found for found in listed if can_add(teacher, found))
        version = db.session.scalar(
            select(ProductVersion.id)
            .where(ProductVersion.status == VersionStatus.IN_REVIEW)
            .order_by(ProductVersion.id)
        )
        order = db.session.scalar(
            select(Order.id).where(Order.teacher_id == teacher.id).order_by(Order.id)
        )
        assert version is not None
        assert order is not None
        pooled = pooled_purchase(teacher, listed)
        db.session.commit()
        return {
            "product": product,
            "order": order,
            "vendor": vendor.id,
            "version": version,
            "pooled": pooled,
        }


def pooled_purchase(teacher: User, products: list[int]) -> int:
    """An open « achat groupé » of the teacher's school: theirs, started with 10 € if none."""
    mine = pooled_purchases.of_my_schools(teacher)
    found = next((pooled.id for pooled in mine if pooled.is_open), None)
    if found is not None:
        return found
    day = pooled_purchases.today()
    deadline = min(day + timedelta(days=10), pooled_purchases.latest_deadline(day))
    for product in products:
        if orders.offer(product, PlanKind.SCHOOL) is not None:
            return pooled_purchases.start(teacher, product, deadline=deadline, share_cents=10_00).id
    raise AssertionError("no demo product of the vendor has a school plan")


def can_add(teacher: User, product: int) -> bool:
    """Whether the teacher can put this product's teacher plan in the cart (and does)."""
    try:
        orders.add_to_cart(teacher, product, PlanKind.TEACHER)
    except (Conflict, orders.NotPurchasable):
        return False
    return True


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(base + "/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(lambda url: "/connexion" not in url)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def run_axe(page: Page, source: str) -> dict[tuple[str, str], str]:
    """axe's violations on the page, one per rule and element, with what to say of each.
    axe's source is evaluated through the DevTools protocol, in the page's own world but
    outside its Content-Security-Policy (a <script> tag with the same text would be
    refused: the policy allows no inline script)."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.evaluate(source)
    result = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    assert len(result["passes"]) > 10, "axe n’a rien vérifié"
    width = page.viewport_size["width"] if page.viewport_size else "?"
    found = {}
    for violation in result["violations"]:
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            found[violation["id"], target] = (
                f"axe {violation['id']} [{node.get('impact')}] à {width} px: "
                f"{violation['help']} — {target}: {node['html'][:300]}"
            )
    return found


def run_vnu(files: list[Path]) -> tuple[str, list[dict[str, Any]]]:
    """The Nu HTML Checker's version and errors on all the files, in one run of the JVM
    (client compiler only and a serial collector: half the CPU time for this short run;
    the checker needs the larger thread stack)."""
    jar = VNU / "build" / "dist" / "vnu.jar"
    java = ["java", "-Xss4m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar", str(jar)]
    done = subprocess.run(
        [*java, "--errors-only", "--format", "json", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr  # 1: errors were found
    report = json.loads(done.stderr)
    return str(report["version"]).split()[0], list(report["messages"])


def without_ids(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pages as the declaration compares them: a demo record's id depends on what ran
    before in the same database (sequences are not rolled back), so it is left out."""
    return [{**page, "path": re.sub(r"/\d+(?=/|$)", "/…", page["path"])} for page in pages]


def vnu_message(audited: Audited, path: str, message: dict[str, Any]) -> str:
    where = f"ligne {message.get('lastLine', '?')}"
    extract = (message.get("extract") or "").replace("\n", " ").strip()
    return f"{audited.title} ({path}) — HTML {where}: {message['message']} — {extract}"


def test_accessibility_audit(
    live_server: str, committed: Flask, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("java") is None or not (VNU / "build").is_dir() or not AXE.is_dir():
        if os.environ.get("CI"):
            pytest.fail("Java, axe-core ou vnu-jar manquent : `make test` les installe.")
        pytest.skip("Java, axe-core or vnu-jar missing (make test installs them)")
    # The pages as served: with the CSRF tokens the test configuration leaves out.
    monkeypatch.setitem(committed.config, "WTF_CSRF_ENABLED", True)
    ids = demo_records(committed)
    axe_source = (AXE / "axe.min.js").read_text()
    folder = ARTIFACTS / "accessibility"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)

    paths = {audited: audited.path.format(**ids) for audited in PAGES}
    files: dict[Path, Audited] = {}
    axe_counts: dict[Audited, int] = {}
    failures: list[str] = []
    problems: list[str] = []
    for role, (_, email) in ROLES.items():
        context = browser.new_context(locale="fr-FR", viewport=DESKTOP)
        context.add_init_script(REPORT_VIOLATIONS)
        problems += watch(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        if email is not None:
            log_in(page, live_server, email)
        for number, audited in enumerate(PAGES, start=1):
            if audited.role != role:
                continue
            path = paths[audited]
            response = page.goto(live_server + path)
            assert response is not None, f"{audited.title} ({path})"
            assert response.ok, f"{audited.title} ({path}): {response.status}"
            assert page.url == live_server + path, f"{audited.title} ({path}) → {page.url}"
            file = folder / f"{number:02d}-{slug(audited.title)}.html"
            file.write_bytes(response.body())
            files[file] = audited
            violations = run_axe(page, axe_source)
            page.set_viewport_size(MOBILE)  # the same page on a phone: DSFR lays it out anew
            settle(page)
            violations = run_axe(page, axe_source) | violations  # an element counts once
            page.set_viewport_size(DESKTOP)
            axe_counts[audited] = len(violations)
            failures += [f"{audited.title} ({path}) — {text}" for text in violations.values()]
        context.close()

    html_counts = dict.fromkeys(PAGES, 0)
    vnu_version, messages = run_vnu(list(files))
    for message in messages:
        about = files.get(Path(message.get("url", "").removeprefix("file:")))
        if about is None:  # not about one page: the checker could not do its work
            failures.append(f"vnu : {message}")
            continue
        html_counts[about] += 1
        failures.append(vnu_message(about, paths[about], message))

    audit = {
        "date": date.today().isoformat(),  # noqa: DTZ011 - the day of the audit, in France
        "tools": {"axe-core": package_version(AXE), "vnu": vnu_version},
        "pages": [
            {
                "title": audited.title,
                "path": paths[audited],
                "role": ROLES[audited.role][0],
                "axe_violations": axe_counts[audited],
                "html_errors": html_counts[audited],
            }
            for audited in PAGES
        ],
    }
    if os.environ.get(UPDATE):
        AUDIT_FILE.parent.mkdir(exist_ok=True)
        text = json.dumps(audit, ensure_ascii=False, indent=2) + "\n"
        AUDIT_FILE.write_text(text, encoding="utf-8")
    assert not problems, "\n".join(problems)
    assert not failures, f"{len(failures)} problèmes d’accessibilité :\n" + "\n".join(failures)
    assert AUDIT_FILE.exists(), (
        f"{AUDIT_FILE.relative_to(ROOT)} manque : `make accessibility-audit`"
    )
    kept = json.loads(AUDIT_FILE.read_text(encoding="utf-8"))
    assert (kept["tools"], without_ids(kept["pages"])) == (
        audit["tools"],
        without_ids(audit["pages"]),
    ), (
        f"{AUDIT_FILE.relative_to(ROOT)} (la déclaration d’accessibilité) ne dit plus ce que "
        "cet audit trouve : `make accessibility-audit` le réécrit."
    )
