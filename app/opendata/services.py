"""The catalogue and the spending as open data: building the datasets, writing a generation
of files to the storage, and reading the last one back (docs/decisions/0026-open-data.md).

Two datasets, each a CSV file and a JSON file of the same rows, described by one Data
Package (``datapackage.json``, frictionless) with a Table Schema per resource:

- ``catalogue``: one row per offer (product × plan) on sale, with the product, its vendor
  (legal name and SIREN: public company data), vocabularies, the label's dates and a
  summary of the data-practices declaration;
- ``depenses``: the spending per school year, month, academy, discipline and level. A cell
  whose purchases come from fewer than :data:`SMALL_COUNT` distinct teachers keeps its row
  but not its figures (``secret_statistique``); no total of any kind is published, so a
  hidden figure cannot be found back by subtraction.

Nothing personal is published: no teacher, no school, no order, no vendor staff, no DPO
contact. Files are written for machines first (data.gouv.fr's conventions): UTF-8 without
BOM, `,` between cells, `.` before decimals, ISO dates, snake_case French column names —
unlike the spreadsheet exports of app/core/exports.py (`;`, BOM, decimal comma).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, distinct, func, select
from sqlalchemy.orm import selectinload

from app.core import dates, schedule, storage
from app.core.dates import PARIS
from app.core.db import is_postgres, utcnow
from app.extensions import db
from app.opendata.models import OpenDataGeneration
from app.orders.models import Order, OrderLine, OrderLineStatus
from app.products.models import (
    PLAN_LABELS,
    Product,
    ProductVersion,
    VersionDiscipline,
    VersionLevel,
)
from app.products.services import purchasable
from app.vendors.models import Vendor
from catalog import conduct, vocabularies

# A figure is published only when it comes from at least this many distinct teachers.
SMALL_COUNT = 10
LIST_SEPARATOR = " | "  # between the values of a list in one cell
LICENCE = {
    "name": "etalab-2.0",
    "path": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
    "title": "Licence Ouverte / Open Licence version 2.0",
}
DATASETS = ("catalogue", "depenses")
FORMATS = ("csv", "json")
PACKAGE = "datapackage.json"
FILENAMES = (*(f"{name}.{ext}" for name in DATASETS for ext in FORMATS), PACKAGE)

Field = dict[str, Any]


def _field(name: str, kind: str, description: str, **extra: Any) -> Field:
    return {"name": name, "type": kind, "description": description, **extra}


def _required(**constraints: Any) -> dict[str, Any]:
    return {"constraints": {"required": True, **constraints}}


BOOLEAN = {"trueValues": ["true"], "falseValues": ["false"]}
LIST = f"Valeurs séparées par « {LIST_SEPARATOR.strip()} »."

CATALOGUE_FIELDS: list[Field] = [
    _field(
        "identifiant_produit",
        "integer",
        "Identifiant du produit dans Compte Ressources (stable d’une version à l’autre).",
        **_required(minimum=1),
    ),
    _field("titre", "string", "Titre de la ressource.", **_required()),
    _field("resume", "string", "Présentation courte de la ressource par son éditeur."),
    _field("editeur", "string", "Raison sociale de l’éditeur.", **_required()),
    _field(
        "siren_editeur",
        "string",
        "SIREN de l’éditeur (9 chiffres).",
        **_required(pattern="[0-9]{9}"),
    ),
    _field(
        "pays_editeur",
        "string",
        "Pays du siège de l’éditeur (ISO 3166 alpha-2).",
        constraints={"pattern": "[A-Z]{2}"},
    ),
    _field("type_ressource", "string", "Type de ressource.", **_required()),
    _field("disciplines", "string", f"Disciplines de la ressource. {LIST}"),
    _field("niveaux", "string", f"Niveaux (cycles, lycée) de la ressource. {LIST}"),
    _field(
        "offre",
        "string",
        "L’offre : licence pour un enseignant, pour une classe ou pour un établissement.",
        **_required(enum=[str(label) for label in PLAN_LABELS.values()]),
    ),
    _field(
        "eleves_max",
        "integer",
        "Nombre d’élèves au plus (licence classe seulement).",
        constraints={"minimum": 1},
    ),
    _field(
        "prix_ttc_euros",
        "number",
        "Prix de l’offre en euros, toutes taxes comprises, valable jusqu’à la fin de l’année "
        "scolaire.",
        **_required(minimum=0.01),
    ),
    _field("taux_tva_pourcent", "number", "Taux de TVA de l’offre, en pourcentage.", **_required()),
    _field(
        "label_date_attribution",
        "date",
        "Date à laquelle la commission a accordé le label à cette version.",
    ),
    _field("label_date_fin", "date", "Date de fin de validité du label.", **_required()),
    _field(
        "hebergement_pays",
        "string",
        f"Pays d’hébergement des données (ISO 3166 alpha-2). {LIST}",
        **_required(),
    ),
    _field("hebergeurs", "string", f"Hébergeurs des données. {LIST}"),
    _field(
        "sous_traitants",
        "string",
        f"Sous-traitants ayant accès aux données personnelles, avec leur pays. {LIST}",
    ),
    _field(
        "donnees_enseignants",
        "string",
        f"Catégories de données collectées sur les enseignants. {LIST}",
    ),
    _field("donnees_eleves", "string", f"Catégories de données collectées sur les élèves. {LIST}"),
    _field(
        "duree_conservation_jours",
        "integer",
        "Durée de conservation des données après la fin de la licence, en jours.",
        **_required(minimum=0),
    ),
    _field("publicite", "boolean", "L’éditeur montre de la publicité.", **BOOLEAN, **_required()),
    _field(
        "vente_donnees", "boolean", "L’éditeur vend ou cède des données.", **BOOLEAN, **_required()
    ),
    _field(
        "profilage_eleves",
        "boolean",
        "L’éditeur établit des profils des élèves.",
        **BOOLEAN,
        **_required(),
    ),
]

SPENDING_FIELDS: list[Field] = [
    _field(
        "annee_scolaire",
        "string",
        "Année scolaire du crédit dépensé (du 1er septembre au 31 août).",
        **_required(pattern="[0-9]{4}-[0-9]{4}"),
    ),
    _field("mois", "yearmonth", "Mois des commandes (heure de Paris).", **_required()),
    _field(
        "code_academie",
        "string",
        "Code de l’académie (codes du ministère).",
        **_required(pattern="[0-9]{2}"),
    ),
    _field("academie", "string", "Nom de l’académie.", **_required()),
    _field("code_discipline", "string", "Code de la discipline.", **_required()),
    _field("discipline", "string", "Discipline.", **_required()),
    _field("code_niveau", "string", "Code du niveau.", **_required()),
    _field("niveau", "string", "Niveau.", **_required()),
    _field(
        "secret_statistique",
        "boolean",
        f"Vrai quand les achats de la case viennent de moins de {SMALL_COUNT} enseignants : "
        "ses chiffres ne sont pas publiés.",
        **BOOLEAN,
        **_required(),
    ),
    _field(
        "montant_euros",
        "number",
        "Montant dépensé en euros TTC (commandes du mois, déduction faite des annulations). "
        "Vide sous secret statistique.",
        constraints={"minimum": 0},
    ),
    _field(
        "nombre_commandes",
        "integer",
        "Nombre de commandes. Vide sous secret statistique.",
        constraints={"minimum": 1},
    ),
    _field(
        "nombre_enseignants",
        "integer",
        f"Nombre d’enseignants distincts ayant acheté (au moins {SMALL_COUNT}). Vide sous "
        "secret statistique.",
        constraints={"minimum": SMALL_COUNT},
    ),
]

DESCRIPTIONS = {
    "catalogue": "Les ressources numériques labellisées en vente sur Compte Ressources : une "
    "ligne par offre (produit × type de licence), avec l’éditeur, les disciplines et niveaux, "
    "le prix, les dates du label et un résumé de la déclaration de pratiques en matière de "
    "données (hébergement, sous-traitants, données collectées, conservation, publicité).",
    "depenses": "Les dépenses des enseignants par année scolaire, mois, académie, discipline "
    "et niveau. Une ressource de plusieurs disciplines ou niveaux compte en entier dans chacun "
    "d’eux : ne pas additionner les lignes entre disciplines ou entre niveaux. Une case dont "
    f"les achats viennent de moins de {SMALL_COUNT} enseignants distincts est sous secret "
    "statistique : sa ligne est publiée sans ses chiffres, et aucun total n’est publié, pour "
    "qu’un chiffre caché ne puisse pas se retrouver par soustraction. Les chiffres d’un mois "
    "peuvent encore changer après une annulation.",
}
TITLES = {
    "catalogue": "Catalogue des ressources labellisées",
    "depenses": "Dépenses par académie, discipline, niveau et mois",
}
PRIMARY_KEYS = {
    "catalogue": ["identifiant_produit", "offre"],
    "depenses": ["annee_scolaire", "mois", "code_academie", "code_discipline", "code_niveau"],
}
FIELDS = {"catalogue": CATALOGUE_FIELDS, "depenses": SPENDING_FIELDS}

Row = dict[str, Any]


# --- building the datasets ---------------------------------------------------------------


def _joined(values: Iterable[str]) -> str:
    return LIST_SEPARATOR.join(values)


def _labels(vocabulary: vocabularies.VocabularyName, codes: Iterable[str]) -> list[str]:
    return [vocabularies.label_of(vocabulary, code) or code for code in codes]


def _category_labels(public: conduct.Public, codes: Iterable[str]) -> list[str]:
    labels = {category.code: category.label for category in conduct.data_categories(public)}
    return [labels.get(code, code) for code in codes]


def _percent(basis_points: int) -> Decimal:
    """550 → 5.5, 2000 → 20 (never 2E+1)."""
    return Decimal(format((Decimal(basis_points) / 100).normalize(), "f"))


def _euros(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def catalogue_rows() -> list[Row]:
    """One row per offer of each product on sale today, by product then plan."""
    versions = db.session.scalars(
        select(ProductVersion)
        .join(Product, Product.id == ProductVersion.product_id)
        .join(Vendor, Vendor.id == Product.vendor_id)
        .where(purchasable(dates.today()))
        .order_by(ProductVersion.product_id)
        .options(
            selectinload(ProductVersion.plans),
            selectinload(ProductVersion.disciplines),
            selectinload(ProductVersion.levels),
            selectinload(ProductVersion.product).joinedload(Product.vendor),
        )
    )
    order = list(PLAN_LABELS)
    rows = []
    for version in versions:
        vendor = version.product.vendor
        declaration = conduct.Declaration.from_dict(version.declaration)
        common = {
            "identifiant_produit": version.product_id,
            "titre": version.title,
            "resume": version.summary,
            "editeur": vendor.legal_name,
            "siren_editeur": vendor.siret[:9],
            "pays_editeur": vendor.country or None,
            "type_ressource": vocabularies.label_of("resource_types", version.resource_type)
            or version.resource_type,
            "disciplines": _joined(_labels("disciplines", sorted(version.discipline_codes))),
            "niveaux": _joined(_labels("levels", sorted(version.level_codes))),
            "label_date_attribution": (
                version.decided_at.astimezone(PARIS).date().isoformat()
                if version.decided_at
                else None
            ),
            "label_date_fin": version.label_expires_on.isoformat()
            if version.label_expires_on
            else None,
            "hebergement_pays": _joined(sorted({h.country for h in declaration.hosting})),
            "hebergeurs": _joined(sorted({h.provider for h in declaration.hosting})),
            "sous_traitants": _joined(f"{s.name} ({s.country})" for s in declaration.subprocessors),
            "donnees_enseignants": _joined(_category_labels("teacher", declaration.teacher_data)),
            "donnees_eleves": _joined(_category_labels("pupil", declaration.pupil_data)),
            "duree_conservation_jours": declaration.retention_days,
            "publicite": declaration.advertising,
            "vente_donnees": declaration.data_sale,
            "profilage_eleves": declaration.pupil_profiling,
        }
        for plan in sorted(version.plans, key=lambda p: order.index(p.kind)):
            rows.append(
                {
                    **common,
                    "offre": str(PLAN_LABELS[plan.kind]),
                    "eleves_max": plan.max_pupils,
                    "prix_ttc_euros": _euros(plan.price_cents),
                    "taux_tva_pourcent": _percent(plan.vat_rate_bp),
                }
            )
    return [{field["name"]: row[field["name"]] for field in CATALOGUE_FIELDS} for row in rows]


def _month(created_at: Any) -> Any:
    """An order's month, 'YYYY-MM' (Paris time on PostgreSQL, UTC on SQLite)."""
    if is_postgres(db.session):
        return func.to_char(func.timezone("Europe/Paris", created_at), "YYYY-MM")
    return func.strftime("%Y-%m", created_at)


def spending_rows() -> list[Row]:
    """The spending per school year, month, academy, discipline and level, from the order
    lines still paid (a cancelled line is not spending), small cells suppressed.

    A line counts in every discipline and every level of the version bought, as on the
    dashboards (app/reporting), whose per-discipline and per-level figures are the sums of
    these rows over months and levels (or disciplines) for a resource of one level (or
    discipline)."""
    month = _month(Order.created_at)
    query = (
        select(
            Order.school_year_code,
            month,
            Order.academy_code,
            VersionDiscipline.code,
            VersionLevel.code,
            func.sum(OrderLine.price_cents),
            func.count(distinct(Order.id)),
            func.count(distinct(Order.teacher_id)),
        )
        .select_from(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .join(VersionDiscipline, VersionDiscipline.version_id == OrderLine.version_id)
        .join(VersionLevel, VersionLevel.version_id == OrderLine.version_id)
        .where(OrderLine.status == OrderLineStatus.PAID)
        .group_by(
            Order.school_year_code,
            month,
            Order.academy_code,
            VersionDiscipline.code,
            VersionLevel.code,
        )
        .order_by(
            Order.school_year_code,
            month,
            Order.academy_code,
            VersionDiscipline.code,
            VersionLevel.code,
        )
    )
    rows = []
    for year, in_month, academy, discipline, level, cents, orders, teachers in db.session.execute(
        query
    ):
        secret = int(teachers) < SMALL_COUNT
        rows.append(
            {
                "annee_scolaire": year,
                "mois": in_month,
                "code_academie": academy,
                "academie": vocabularies.label_of("academies", academy) or academy,
                "code_discipline": discipline,
                "discipline": vocabularies.label_of("disciplines", discipline) or discipline,
                "code_niveau": level,
                "niveau": vocabularies.label_of("levels", level) or level,
                "secret_statistique": secret,
                "montant_euros": None if secret else _euros(int(cents)),
                "nombre_commandes": None if secret else int(orders),
                "nombre_enseignants": None if secret else int(teachers),
            }
        )
    return rows


BUILDERS: dict[str, Callable[[], list[Row]]] = {
    "catalogue": catalogue_rows,
    "depenses": spending_rows,
}


# --- writing the files --------------------------------------------------------------------


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_csv(name: str, rows: list[Row]) -> bytes:
    """RFC 4180 CSV in UTF-8 without BOM, `,` between cells, a header of column names."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    names = [field["name"] for field in FIELDS[name]]
    writer.writerow(names)
    writer.writerows([_csv_value(row[column]) for column in names] for row in rows)
    return buffer.getvalue().encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON: {value!r}")


def to_json(rows: list[Row]) -> bytes:
    """A JSON array of objects, one per row, keys the column names (missing values: null)."""
    return json.dumps(rows, ensure_ascii=False, indent=1, default=_json_default).encode("utf-8")


def datapackage(generated_at: datetime, counts: dict[str, int]) -> dict[str, Any]:
    """The Data Package describing a generation (frictionless, Table Schema per resource)."""
    resources = []
    for name in DATASETS:
        schema = {
            "fields": FIELDS[name],
            "primaryKey": PRIMARY_KEYS[name],
            "missingValues": [""],
        }
        for ext in FORMATS:
            resource: dict[str, Any] = {
                "name": f"{name}-{ext}",
                "title": f"{TITLES[name]} ({ext.upper()})",
                "description": DESCRIPTIONS[name],
                "path": f"{name}.{ext}",
                "profile": "tabular-data-resource",
                "format": ext,
                "mediatype": "text/csv" if ext == "csv" else "application/json",
                "encoding": "utf-8",
                "licenses": [LICENCE],
                "schema": schema,
            }
            if ext == "csv":
                resource["dialect"] = {"delimiter": ",", "header": True}
            resources.append(resource)
    return {
        "profile": "tabular-data-package",
        "name": "compte-ressources",
        "title": "Compte Ressources : catalogue labellisé et dépenses",
        "description": "Les ressources numériques labellisées du Compte Ressources des "
        "enseignants et les dépenses agrégées par académie, discipline, niveau et mois. "
        f"Généré le {generated_at.astimezone(PARIS).isoformat(timespec='seconds')}.",
        "created": generated_at.astimezone(PARIS).isoformat(timespec="seconds"),
        "licenses": [LICENCE],
        "keywords": ["éducation", "ressources numériques", "enseignants", "dépenses publiques"],
        "rows": counts,
        "resources": resources,
    }


def publish(progress: Callable[[str], None] | None = None) -> OpenDataGeneration:
    """Build both datasets, write their files and their Data Package to the storage, then
    record the generation (flushed; the caller commits). Until that row is committed the
    previous generation is the one served; a failure on the way leaves it so (the files
    already written are content-addressed and harmless)."""
    say = progress or (lambda _message: None)
    generated_at = utcnow()
    files: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for name in DATASETS:
        rows = BUILDERS[name]()
        counts[name] = len(rows)
        say(f"{name} : {len(rows)} lignes")
        for ext, data in (("csv", to_csv(name, rows)), ("json", to_json(rows))):
            files[f"{name}.{ext}"] = {
                "key": storage.save("opendata", data, ext),
                "bytes": len(data),
            }
            say(f"  {name}.{ext} : {len(data)} octets")
    package = json.dumps(datapackage(generated_at, counts), ensure_ascii=False, indent=1)
    data = package.encode("utf-8")
    files[PACKAGE] = {"key": storage.save("opendata", data, "json"), "bytes": len(data)}
    say(f"  {PACKAGE} : {len(data)} octets")
    generation = OpenDataGeneration(generated_at=generated_at, files=files, rows=counts)
    db.session.add(generation)
    db.session.flush()
    return generation


# The generation served and the one before it (a download begun on it can end).
KEPT_GENERATIONS = 2


def purge_old_generations(keep: int = KEPT_GENERATIONS) -> int:
    """Forget the generations older than the last `keep` and delete the files only they
    used (a file unchanged since is shared by a kept generation and stays). The rows go
    first, committed, then the files: a failure leaves files nothing names, never a
    generation without its files. Returns how many generations went."""
    newest_first = list(
        db.session.scalars(select(OpenDataGeneration).order_by(OpenDataGeneration.id.desc()))
    )
    kept, old = newest_first[:keep], newest_first[keep:]
    if not old:
        return 0
    still_named = {file["key"] for generation in kept for file in generation.files.values()}
    unused = {file["key"] for generation in old for file in generation.files.values()}
    db.session.execute(
        delete(OpenDataGeneration).where(OpenDataGeneration.id.in_([g.id for g in old]))
    )
    db.session.commit()
    for key in sorted(unused - still_named):
        storage.delete(key)
    return len(old)


@schedule.task("opendata.publish", "40 3 * * *", _l("Publication des données ouvertes"))
def publish_nightly() -> None:
    """Every night, a new generation of the open data, then the generations older than
    the last two go with their files (re-runnable: each run is a new, complete one)."""
    publish()
    db.session.commit()
    purge_old_generations()


# --- reading the last generation ------------------------------------------------------------


def latest() -> OpenDataGeneration | None:
    return db.session.scalar(
        select(OpenDataGeneration).order_by(OpenDataGeneration.id.desc()).limit(1)
    )


def read_file(generation: OpenDataGeneration, filename: str) -> bytes:
    return storage.read(generation.key(filename))


# Rows already read, by storage key (a key's content never changes): the two datasets of
# the last generation and of the one before, at most.
_ROWS: dict[str, tuple[Row, ...]] = {}


def dataset_rows(generation: OpenDataGeneration, name: str) -> tuple[Row, ...]:
    """The rows of dataset `name` of a generation, as in its JSON file (read once per
    process)."""
    key = generation.key(f"{name}.json")
    rows = _ROWS.get(key)
    if rows is None:
        rows = tuple(json.loads(storage.read(key)))
        _ROWS[key] = rows
        while len(_ROWS) > len(DATASETS) * 2:
            _ROWS.pop(next(iter(_ROWS)))
    return rows


@dataclass(frozen=True)
class Page:
    rows: tuple[Row, ...]
    total: int
    page: int
    per_page: int
    etag: str


def page_of(generation: OpenDataGeneration, name: str, page: int, per_page: int) -> Page:
    rows = dataset_rows(generation, name)
    start = (page - 1) * per_page
    digest = str(generation.files[f"{name}.json"]["key"]).rsplit("/", 1)[-1].split(".")[0]
    return Page(
        rows=rows[start : start + per_page],
        total=len(rows),
        page=page,
        per_page=per_page,
        etag=f"{digest[:32]}-{page}-{per_page}",
    )
