"""Demo projects for the Mulhouse neighbourhood (called from onemile.demo).

Five approved projects of associations and shops (a community garden, a repair café, a
book box, a solidarity fridge, a mural), supported with pledges, smiles and volunteers,
with news; and one project waiting for the demo account, which is a moderator. Everything
goes through projects.services, so the rules and the ledger are the app's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..extensions import db
from ..geo import LatLon
from ..models import Member, Project
from ..smiles.services import balance_of
from . import services

DEMO_EMAIL = "demo@1mile.local"


@dataclass(frozen=True)
class DemoProject:
    """One demo project: its owner's key, what it is, where, and what it needs."""

    owner: str
    title: str
    summary: str
    description: str
    at: tuple[float, float]
    target: int | None
    tasks: tuple[tuple[str, str], ...]
    days_ago: int


PROJECTS: tuple[DemoProject, ...] = (
    DemoProject(
        "jardins", "Six nouveaux bacs pour le jardin partagé de la Fonderie",
        "Des bacs potagers surélevés, accessibles en fauteuil, ouverts à tous les voisins.",
        "Le jardin partagé de la rue de la Fonderie accueille une trentaine de familles. Nous voulons "
        "construire six bacs surélevés (dont deux accessibles en fauteuil), un composteur collectif et "
        "un récupérateur d'eau de pluie. L'argent promis paiera le bois de mélèze et la visserie.",
        (47.7421, 7.3188), 600, (("Construire les bacs en bois", "Menuiserie"),
                                 ("Organiser l'arrosage de l'été", "Jardinage")), 21,
    ),
    DemoProject(
        "repair", "Un atelier mobile pour le Repair Café",
        "Un triporteur équipé pour réparer au pied des immeubles, un samedi par mois.",
        "Le Repair Café Mulhouse veut aller vers celles et ceux qui ne viennent pas à la salle : un "
        "triporteur équipé (établi pliant, outillage, multimètre, machine à coudre) qui part de la place "
        "de la Réunion pour réparer au pied des immeubles de Drouot et de Bourtzwiller. Objectif : 80 objets "
        "sauvés de la poubelle par mois.",
        (47.7471, 7.3379), 1200, (("Réparer le petit électroménager", "Électronique"),
                                  ("Accueillir et noter les réparations", "Accueil"),
                                  ("Recoudre les vêtements", "Couture")), 16,
    ),
    DemoProject(
        "librairie", "Une boîte à livres au square du Rebberg",
        "Une boîte à livres en bois, étanche, pour prendre et déposer des livres librement.",
        "La librairie Le Marque-Page offre les premiers livres et la peinture. Il reste à fabriquer "
        "une boîte étanche avec une porte vitrée, et à l'installer avec l'accord de la mairie de quartier.",
        (47.7391, 7.3297), 150, (("Fabriquer la boîte", "Menuiserie"), ("Peindre et décorer", "Peinture")), 12,
    ),
    DemoProject(
        "epicerie", "Un frigo solidaire devant l'épicerie d'Illzach",
        "Un réfrigérateur en libre-service où commerçants et voisins déposent ce qu'ils ne mangeront pas.",
        "Avec les commerçants d'Illzach, nous installons un frigo solidaire abrité, nettoyé chaque jour "
        "par des bénévoles. Les dons paieront le frigo professionnel, l'abri et l'électricité de la première année.",
        (47.7815, 7.3472), 900, (("Nettoyer le frigo un jour par semaine", "Hygiène alimentaire"),), 9,
    ),
    DemoProject(
        "quartier", "Une fresque participative rue de Bourtzwiller",
        "Les habitants dessinent ensemble la fresque du mur de l'école.",
        "Trois ateliers de dessin ouverts à tous, puis deux week-ends de peinture pour couvrir les "
        "40 m² du mur de l'école. La peinture est offerte par la quincaillerie du quartier.",
        (47.7702, 7.3231), None, (("Animer un atelier de dessin", "Dessin"),
                                  ("Préparer le mur", "Peinture")), 6,
    ),
)

PENDING = DemoProject(
    "parents", "Des gilets et des lampes pour le pédibus d'hiver",
    "Équiper les enfants et les accompagnateurs du pédibus pour les matins sombres.",
    "Le pédibus de Riedisheim emmène une quarantaine d'enfants à l'école. L'hiver, il fait nuit au "
    "départ : nous voulons des gilets réfléchissants et des lampes pour tous.",
    (47.7481, 7.3676), 300, (("Coudre des bandes réfléchissantes", "Couture"),), 1,
)

# (project index, supporter key, euros, message, received)
PLEDGES = (
    (0, "lea", "40", "Pour le bois des bacs !", True),
    (0, "primeur", "150", "Les Jardins d'Illzach soutiennent le potager.", True),
    (0, "julien", "25", None, False),
    (1, "sophie", "50", "Bravo pour l'idée du triporteur.", True),
    (1, "quincaillerie", "200", "Et l'outillage à prix coûtant.", False),
    (1, "demo", "20", None, False),
    (2, "bernard", "30", None, True),
    (2, "fleuriste", "20", "Une boîte fleurie ?", False),
    (3, "boulangerie", "300", "Nous y déposerons le pain du soir.", False),
    (3, "monique", "15,50", None, True),
)
# (project index, supporter key, smiles)
SMILES = ((0, "nadia", 1), (0, "thomas", 1), (1, "karim", 1), (1, "demo", 1), (2, "claire", 1), (3, "marc", 1))
# (project index, task index, volunteer key, message, accepted)
VOLUNTEERS = (
    (0, 0, "antoine", "J'ai un atelier et une scie à onglet, je peux faire les découpes.", True),
    (0, 1, "helene", "Retraitée, je passe devant le jardin tous les jours.", True),
    (1, 0, "mehmet", "Je répare les grille-pains et les lampes depuis des années.", True),
    (1, 2, "valentina", "Couturière, je peux tenir le stand couture.", None),
    (2, 0, "maxime", "Menuisier amateur, j'ai les outils.", True),
    (3, 0, "aurelie", "Je peux faire le mardi soir.", None),
    (4, 0, "yasmine", "Étudiante aux Beaux-Arts, j'anime volontiers un atelier.", True),
)
UPDATES = (
    (0, "Le bois est commandé ! Premier chantier samedi à 9 h, café offert."),
    (1, "Le triporteur est arrivé. Il reste à installer l'établi pliant."),
)


def load_projects(members: dict[str, Member], now: datetime) -> dict:
    """Make the demo account a moderator and create the demo projects and their support."""
    demo = next(member for member in members.values() if member.email == DEMO_EMAIL)
    demo.is_moderator = True
    db.session.commit()
    projects = [_propose(members[spec.owner], spec) for spec in PROJECTS]
    for project, spec in zip(projects, PROJECTS, strict=True):
        services.approve(demo, project.id)
        project.created_at = project.updated_at = now - timedelta(days=spec.days_ago)
        project.moderated_at = project.created_at + timedelta(hours=5)
    for index, key, euros, message, received in PLEDGES:
        promise = services.pledge(members[key], projects[index].id, euros, message)
        if received:
            services.mark_pledge_received(projects[index].owner, projects[index].id, promise.id)
    for index, key, count in SMILES:
        if _balance(members[key].id) >= count:
            services.give_smiles(members[key], projects[index].id, count, f"demo-smiles-{index}-{key}")
    for index, task_index, key, message, accepted in VOLUNTEERS:
        project = projects[index]
        offer = services.volunteer(members[key], project.id, project.tasks[task_index].id, message)
        if accepted is not None:
            services.answer_volunteer(project.owner, project.id, offer.id, accepted)
    # The garden thanks its carpenter with one of the smiles it received.
    garden = projects[0]
    carpenter = next(v for v in garden.tasks[0].volunteers if v.status == "accepted")
    if services.project_account(garden).balance >= 1:
        services.pass_smiles(garden.owner, garden.id, carpenter.id, 1, "demo-pass-garden-carpenter")
    for index, body in UPDATES:
        services.post_update(projects[index].owner, projects[index].id, body)
    pending = _propose(members[PENDING.owner], PENDING)
    return {"projects": len(projects) + 1, "projects_pending": 1 if pending.status == "pending" else 0}


def _propose(owner: Member, spec: DemoProject) -> Project:
    return services.propose(
        owner,
        services.ProjectData(
            title=spec.title,
            summary=spec.summary,
            description=spec.description,
            point=LatLon(*spec.at),
            money_target=str(spec.target) if spec.target else None,
            tasks=tuple(services.TaskData(title, skill) for title, skill in spec.tasks),
            charter_accepted=True,
        ),
    )


def _balance(member_id: int) -> int:
    return balance_of(member_id)
