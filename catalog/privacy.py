"""What happens to pupils' and teachers' data, in plain French, from a declaration.

Shown to teachers on the product page: short sentences, no jargon, the facts that
matter to them first (who sees the data, where it lives, how long it is kept).
"""

from __future__ import annotations

from catalog.conduct import Declaration, Public, counted, data_categories


def _labels(public: Public, codes: tuple[str, ...]) -> str:
    labels = {c.code: c.label[0].lower() + c.label[1:] for c in data_categories(public)}
    names = [labels.get(code, code) for code in codes]
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " et " + names[-1]


def plain_summary(declaration: Declaration) -> list[str]:
    """A few sentences a teacher understands at a glance."""
    sentences: list[str] = []
    if declaration.gar_access:
        sentences.append(
            "Les élèves se connectent par le GAR : l’éditeur ne reçoit qu’un identifiant "
            "pseudonyme, pas leur nom."
        )
    if declaration.pupil_data:
        sentences.append(
            f"Données des élèves utilisées : {_labels('pupil', declaration.pupil_data)}."
        )
    else:
        sentences.append("Aucune donnée personnelle des élèves n’est collectée.")
    if declaration.teacher_data:
        sentences.append(
            f"Données des enseignants utilisées : {_labels('teacher', declaration.teacher_data)}."
        )
    places = sorted({f"{h.provider} ({h.country})" for h in declaration.hosting})
    sentences.append(f"Les données sont hébergées chez {', '.join(places)}.")
    if declaration.subprocessors:
        names = ", ".join(s.name for s in declaration.subprocessors)
        sentences.append(f"Prestataires ayant accès aux données : {names}.")
    days = declaration.retention_days
    kept = "supprimées dès" if days == 0 else f"conservées {counted(days, 'jour')} au plus après"
    sentences.append(f"Elles sont {kept} la fin de l’abonnement.")
    refused = []
    if not declaration.advertising:
        refused.append("aucune publicité")
    if not declaration.data_sale:
        refused.append("aucune revente des données")
    if not declaration.pupil_profiling:
        refused.append("aucun profilage des élèves")
    if refused:
        sentences.append(f"L’éditeur s’engage : {', '.join(refused)}.")
    if declaration.trackers:
        sentences.append(f"Traceurs tiers présents : {', '.join(declaration.trackers)}.")
    return sentences
