"""What happens to pupils' and teachers' data, in plain French, from a declaration.

Shown to teachers on the product page: short sentences, no jargon, the facts that
matter to them first (who sees the data, where it lives, how long it is kept).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from babel.lists import format_list

from catalog.conduct import Declaration, Public, counted, data_categories


def french_list(words: Iterable[str], style: Literal["standard", "or"] = "standard") -> str:
    """Words joined as French writes them: "a, b et c" ("standard"), "a, b ou c" ("or")."""
    return format_list(list(words), style, locale="fr")


class Sentence(str):
    """A sentence of the summary. One that lists things some of which hold an "et" or an
    "ou" themselves ("classe et niveau", "voix ou image") keeps its `lead` and its `items`
    apart, so a page can show them one per line: joined in a sentence they read as
    "classe et niveau et voix ou image". As a string, it is the whole sentence."""

    lead: str
    items: tuple[str, ...]

    def __new__(cls, lead: str, items: Iterable[str] = ()) -> Sentence:
        listed = tuple(items)
        text = f"{lead} {french_list(listed)}." if listed else lead
        sentence = super().__new__(cls, text)
        sentence.lead = lead
        sentence.items = listed
        return sentence


def _labels(public: Public, codes: tuple[str, ...]) -> list[str]:
    labels = {c.code: c.label[0].lower() + c.label[1:] for c in data_categories(public)}
    return [labels.get(code, code) for code in codes]


def plain_summary(declaration: Declaration) -> list[Sentence]:
    """A few sentences a teacher understands at a glance (in French: the declaration's
    vocabularies have no other language)."""
    sentences: list[Sentence] = []
    if declaration.gar_access:
        sentences.append(
            Sentence(
                "Les élèves se connectent par le GAR : l’éditeur ne reçoit qu’un identifiant "
                "pseudonyme, pas leur nom."
            )
        )
    if declaration.pupil_data:
        pupil = _labels("pupil", declaration.pupil_data)
        sentences.append(Sentence("Données des élèves utilisées :", pupil))
    else:
        sentences.append(Sentence("Aucune donnée personnelle des élèves n’est collectée."))
    if declaration.teacher_data:
        teacher = _labels("teacher", declaration.teacher_data)
        sentences.append(Sentence("Données des enseignants utilisées :", teacher))
    places = sorted({f"{h.provider} ({h.country})" for h in declaration.hosting})
    sentences.append(Sentence(f"Les données sont hébergées chez {french_list(places)}."))
    if declaration.subprocessors:
        names = french_list(s.name for s in declaration.subprocessors)
        sentences.append(Sentence(f"Prestataires ayant accès aux données : {names}."))
    days = declaration.retention_days
    kept = "supprimées dès" if days == 0 else f"conservées {counted(days, 'jour')} au plus après"
    sentences.append(Sentence(f"Elles sont {kept} la fin de l’abonnement."))
    refused = []
    if not declaration.advertising:
        refused.append("aucune publicité")
    if not declaration.data_sale:
        refused.append("aucune revente des données")
    if not declaration.pupil_profiling:
        refused.append("aucun profilage des élèves")
    if refused:
        sentences.append(Sentence(f"L’éditeur s’engage : {french_list(refused)}."))
    if declaration.trackers:
        trackers = french_list(declaration.trackers)
        sentences.append(Sentence(f"Traceurs tiers présents : {trackers}."))
    return sentences
