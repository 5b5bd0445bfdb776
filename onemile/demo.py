"""Demo data: a lively neighbourhood around Mulhouse, the first 1Mile community.

``load_demo()`` fills an empty database with 41 members (people, businesses and associations)
living in Mulhouse's neighbourhoods and the towns around it, their miles, and about 150
requests and offers written in French. Everything goes through the real services
(registration, miles, listings), so validation, primary miles and the shifted public points of
listings are exactly those of the app. A fixed seed (``random.Random(1609)``) makes every run
give the same members, places and ads; only dates are relative to the moment of loading.

Every demo member signs in with the password ``entraide-mulhouse``. The easiest account to
remember is ``demo@1mile.local`` (a person living in Mulhouse centre, with two miles); the
others are ``prenom.nom@demo.1mile.local``, e.g. ``lea.muller@demo.1mile.local``.

Run it with ``flask setup`` (migrations, then the demo on an empty database) or
``flask demo load``. It refuses to run when the database already has members.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_request_context
from sqlalchemy import func, select

from .auth.services import SignupData, hash_password, register
from .extensions import db
from .geo import LatLon, destination
from .listings.services import ListingData, create_listing
from .mags.demo import load_demo_mags
from .miles.services import add_mile, move_mile, rename_mile
from .models import Listing, Member, Mile, Transfer, utcnow
from .projects.demo import load_projects

DEMO_PASSWORD = "entraide-mulhouse"
DEMO_EMAIL = "demo@1mile.local"
EMAIL_DOMAIN = "demo.1mile.local"
SEED = 1609
LISTING_SPREAD_DAYS = 25

# Neighbourhoods and nearby towns: centre point and postal code. All lie within about 6 km
# of Mulhouse's centre (47.7508 N, 7.3359 E).
NEIGHBOURHOODS: dict[str, tuple[float, float, str]] = {
    "Centre": (47.7466, 7.3390, "68100"),
    "Rebberg": (47.7385, 7.3305, "68100"),
    "Fonderie": (47.7418, 7.3195, "68100"),
    "Nordfeld": (47.7425, 7.3500, "68100"),
    "Drouot": (47.7575, 7.3555, "68100"),
    "Dornach": (47.7475, 7.3055, "68200"),
    "Coteaux": (47.7535, 7.3010, "68200"),
    "Doller": (47.7605, 7.3230, "68200"),
    "Bourtzwiller": (47.7705, 7.3225, "68200"),
    "Riedisheim": (47.7478, 7.3680, "68400"),
    "Illzach": (47.7818, 7.3465, "68110"),
    "Kingersheim": (47.7915, 7.3275, "68260"),
    "Wittenheim": (47.8000, 7.3390, "68270"),
    "Pfastatt": (47.7690, 7.3020, "68120"),
    # 68350 (Brunstatt-Didenheim) is unknown to the offline postal data: the member picks
    # the point, as the sign-up form would ask.
    "Brunstatt": (47.7225, 7.3220, "68350"),
}

# Other places people go to: work, their children's school, their parents.
LANDMARKS: dict[str, tuple[float, float]] = {
    "Gare": (47.7420, 7.3425),
    "Hôpital Émile Muller": (47.7275, 7.3155),
    "Campus de l'Illberg": (47.7318, 7.3105),
    "Parc des Collines": (47.7335, 7.2890),
    "Zone commerciale de Rixheim": (47.7550, 7.3930),
}


@dataclass(frozen=True)
class DemoMember:
    """One demo member: who they are, where they live, and their other miles."""

    key: str
    first_name: str
    last_name: str
    kind: str
    home: str
    home_mile: str = "Maison"
    organisation: str | None = None
    extra_miles: tuple[tuple[str, str], ...] = ()
    email: str | None = None


MEMBERS: tuple[DemoMember, ...] = (
    DemoMember("demo", "Camille", "Martin", "person", "Centre",
               extra_miles=(("Travail", "Campus de l'Illberg"),), email=DEMO_EMAIL),
    # People
    DemoMember("lea", "Léa", "Muller", "person", "Rebberg",
               extra_miles=(("Travail", "Hôpital Émile Muller"),)),
    DemoMember("thomas", "Thomas", "Schmitt", "person", "Dornach",
               extra_miles=(("Travail", "Parc des Collines"), ("Chez mes parents", "Wittenheim"))),
    DemoMember("nadia", "Nadia", "Benali", "person", "Bourtzwiller",
               extra_miles=(("École des enfants", "Doller"),)),
    DemoMember("julien", "Julien", "Meyer", "person", "Centre"),
    DemoMember("sophie", "Sophie", "Weber", "person", "Riedisheim",
               extra_miles=(("Travail", "Gare"),)),
    DemoMember("mehmet", "Mehmet", "Yilmaz", "person", "Drouot",
               extra_miles=(("Travail", "Zone commerciale de Rixheim"),)),
    DemoMember("claire", "Claire", "Kieffer", "person", "Kingersheim",
               extra_miles=(("Chez mes parents", "Brunstatt"),)),
    DemoMember("antoine", "Antoine", "Baumann", "person", "Fonderie",
               extra_miles=(("Travail", "Campus de l'Illberg"),)),
    DemoMember("fatou", "Fatou", "Diallo", "person", "Illzach",
               extra_miles=(("Travail", "Centre"),)),
    DemoMember("helene", "Hélène", "Zimmermann", "person", "Brunstatt"),
    DemoMember("marc", "Marc", "Wolff", "person", "Wittenheim",
               extra_miles=(("Travail", "Centre"),)),
    DemoMember("linh", "Linh", "Nguyen", "person", "Coteaux",
               extra_miles=(("Travail", "Hôpital Émile Muller"),)),
    DemoMember("pierre", "Pierre", "Hirtz", "person", "Riedisheim"),
    DemoMember("manon", "Manon", "Fischer", "person", "Centre",
               extra_miles=(("Chez mes parents", "Kingersheim"),)),
    DemoMember("karim", "Karim", "Haddad", "person", "Doller",
               extra_miles=(("Travail", "Gare"), ("Salle d'escalade", "Drouot"))),
    DemoMember("elodie", "Élodie", "Roth", "person", "Pfastatt",
               extra_miles=(("Travail", "Centre"), ("École des enfants", "Pfastatt"))),
    DemoMember("bernard", "Bernard", "Keller", "person", "Rebberg"),
    DemoMember("ines", "Inès", "Da Silva", "person", "Nordfeld",
               extra_miles=(("Travail", "Parc des Collines"),)),
    DemoMember("lucas", "Lucas", "Brun", "person", "Bourtzwiller"),
    DemoMember("monique", "Monique", "Ehrhart", "person", "Kingersheim"),
    DemoMember("yasmine", "Yasmine", "Cherif", "person", "Drouot",
               extra_miles=(("Chez mes parents", "Bourtzwiller"), ("Job étudiant", "Centre"))),
    DemoMember("nicolas", "Nicolas", "Kowalski", "person", "Wittenheim"),
    DemoMember("valentina", "Valentina", "Rossi", "person", "Dornach",
               extra_miles=(("Travail", "Centre"),)),
    DemoMember("jeanpaul", "Jean-Paul", "Gerber", "person", "Brunstatt"),
    DemoMember("aurelie", "Aurélie", "Lang", "person", "Illzach",
               extra_miles=(("Travail", "Hôpital Émile Muller"),)),
    DemoMember("maxime", "Maxime", "Frey", "person", "Fonderie"),
    DemoMember("samia", "Samia", "Bouaziz", "person", "Coteaux",
               extra_miles=(("École des enfants", "Dornach"),)),
    # Businesses
    DemoMember("boulangerie", "Christophe", "Ritter", "business", "Centre", "La boulangerie",
               "Boulangerie Au Pain d'Épices", (("Maison", "Riedisheim"),)),
    DemoMember("velo", "Romain", "Beck", "business", "Dornach", "L'atelier",
               "Cycles Dornach, atelier vélo", (("Maison", "Pfastatt"),)),
    DemoMember("librairie", "Isabelle", "Koenig", "business", "Rebberg", "La librairie",
               "Librairie Le Marque-Page"),
    DemoMember("cafe", "Mélanie", "Schaller", "business", "Fonderie", "Le café",
               "Café Le Papotage", (("Maison", "Doller"),)),
    DemoMember("quincaillerie", "Patrick", "Kientz", "business", "Bourtzwiller", "Le magasin",
               "Quincaillerie Kientz"),
    DemoMember("primeur", "Olivier", "Wagner", "business", "Illzach", "La boutique",
               "Primeur Les Jardins d'Illzach", (("Maison", "Kingersheim"),)),
    DemoMember("fleuriste", "Sandrine", "Munch", "business", "Kingersheim", "La boutique",
               "Fleuriste Pétales"),
    # Associations
    DemoMember("quartier", "Rachid", "Amrani", "association", "Bourtzwiller", "Le local",
               "Bourtzwiller Ensemble, association de quartier"),
    DemoMember("club", "Sébastien", "Graff", "association", "Wittenheim", "Le stade",
               "Sporting Club de Wittenheim", (("Gymnase", "Kingersheim"),)),
    DemoMember("epicerie", "Martine", "Hug", "association", "Illzach", "L'épicerie",
               "Épicerie solidaire Le Panier Partagé", (("Point de collecte", "Centre"),)),
    DemoMember("repair", "Didier", "Litzler", "association", "Drouot", "La salle",
               "Repair Café Mulhouse"),
    DemoMember("jardins", "Agnès", "Vogel", "association", "Fonderie", "Les jardins",
               "Jardins partagés de la Fonderie"),
    DemoMember("parents", "Émilie", "Sutter", "association", "Riedisheim", "L'école",
               "Parents d'élèves de Riedisheim", (("Maison", "Nordfeld"),)),
)

# Every ad, separated by a blank line: a header "category kind [who]", the title, then the
# text. kind is "request" or an offer type; who is a member key, a neighbourhood (a person
# living there writes it) or absent (any person).
ADS_TEXT = """
carpooling request Centre
Covoiturage Mulhouse → Bâle le matin
Je travaille à Bâle près de la gare SBB, de 8 h à 17 h. Je cherche un covoiturage régulier
depuis le centre de Mulhouse, du lundi au vendredi. Je participe à l'essence, bien sûr.

carpooling service thomas
Trajet quotidien Dornach → Parc des Collines
Je pars de Dornach vers 7 h 40 pour le Parc des Collines et je rentre vers 17 h 30. Deux places
libres, on peut se retrouver devant la mairie annexe.

carpooling request Riedisheim
Quelqu'un pour emmener ma mère à l'hôpital Émile Muller mardi
Ma mère a un rendez-vous en cardiologie mardi à 14 h 30 et je serai au travail. Elle habite à
Riedisheim, elle marche bien mais ne conduit plus. Merci d'avance !

carpooling service Dornach
Aller-retour au marché de Colmar le samedi
Je vais au marché couvert de Colmar presque tous les samedis : départ 8 h 30 de Dornach, retour
vers midi. Trois places libres, je ne demande rien.

carpooling request Bourtzwiller
Covoiturage vers l'EuroAirport jeudi à 5 h
Vol très tôt jeudi prochain, je cherche quelqu'un qui passe par l'aéroport. Je pars de
Bourtzwiller avec une petite valise et je paie le dépose-minute.

carpooling service marc
Trajets réguliers Wittenheim → gare de Mulhouse
Je dépose mon fils au lycée puis je vais à la gare, départ 7 h 15 de Wittenheim. Si ça peut
dépanner quelqu'un, j'ai de la place tous les jours de la semaine.

carpooling request
Un parent pour emmener mon fils au match samedi ?
Mon fils de 12 ans joue en U13 et le match est à Cernay samedi à 10 h. Je n'ai pas de voiture ce
week-end : un parent de l'équipe pourrait-il le prendre au passage ?

carpooling service
Place libre vers Strasbourg le vendredi soir
Je rentre chez mes parents près de Strasbourg tous les vendredis vers 18 h et je reviens le
dimanche soir. Une ou deux places, on partage l'essence si vous voulez.

carpooling request Kingersheim
Besoin d'un chauffeur pour les grosses courses
Je suis sans voiture depuis mon opération du genou. Une fois par semaine, quelqu'un pourrait-il
m'emmener à l'hypermarché de Kingersheim ? Je m'adapte à vos horaires.

carpooling service Rebberg
Navette vers le marché du Canal couvert le samedi
Je descends du Rebberg au marché du Canal couvert chaque samedi vers 9 h. Les personnes âgées du
quartier sont les bienvenues, je porte aussi les cabas.

carpooling request yasmine
Cherche covoiturage Mulhouse → Fribourg lundi et jeudi
Étudiante à l'université de Fribourg, j'ai cours le lundi et le jeudi à 10 h. Je cherche
quelqu'un qui fait le trajet, je partage les frais et la playlist.

carpooling lend Illzach
Prête siège auto enfant pour un trajet
Siège auto groupe 1/2/3 (de 9 à 36 kg) en bon état, disponible si vous devez transporter un
enfant de temps en temps. À récupérer à Illzach.

carpooling service
Trajet Mulhouse → Belfort le mardi et le mercredi
Je travaille à Belfort deux jours par semaine. Départ 7 h du parking sud de la gare, retour vers
18 h 30. Conduite calme, café dans le thermos.

carpooling request Bourtzwiller
Quelqu'un avec un break pour rapporter un canapé ?
J'ai acheté un canapé deux places d'occasion à Lutterbach. Il faut un utilitaire ou un grand
break pour le ramener à Bourtzwiller, samedi si possible. J'aide à porter.

carpooling service boulangerie
Dépose à la gare pour les trains avant 6 h
Boulanger, je suis debout à 4 h de toute façon : si vous avez un TGV avant 6 h, je vous dépose à
la gare en allant au fournil. Prévenez-moi la veille avant 19 h.

carpooling request Riedisheim
Retour de Rixheim vers 19 h en semaine
Je finis à 19 h à la zone commerciale de Rixheim et le dernier bus est déjà passé. Quelqu'un
fait le trajet vers Riedisheim à cette heure-là ?

carpooling service club
Covoiturage des jeunes pour les matchs à l'extérieur
Le club organise le covoiturage des équipes de jeunes. Parents qui ont des places libres,
répondez ici : on fait le planning chaque lundi et on le publie au stade.

carpooling barter Dornach
Échange trajets d'école contre trajets du judo
Nos enfants vont à l'école du Haut-Poirier. J'emmène les vôtres le matin si vous ramenez les
miens du judo le mercredi après-midi.

carpooling request
Covoiturage vers Lyon pendant les vacances
Je cherche un trajet vers Lyon autour du 20, pour moi et un sac de voyage. Je peux conduire une
partie du chemin, j'ai le permis depuis dix ans.

carpooling service Brunstatt
Je pars à Bâle tous les jours, deux places
Infirmier à l'hôpital universitaire de Bâle, je pars de Brunstatt à 6 h 15 (équipe du matin) ou
à 13 h 15 (après-midi). Je publie mon planning chaque dimanche.

carpooling request demo
Covoiturage vers le campus de l'Illberg à 8 h
Je commence à 8 h 30 sur le campus de l'Illberg et le tram est bondé. Quelqu'un du centre-ville
y va en voiture ? Je partage l'essence.

diy request
Cherche quelqu'un pour monter une armoire
J'ai acheté une armoire en kit (trois portes, une notice de 40 pages…). Je cherche une personne
patiente et outillée pour m'aider samedi après-midi. Café et gâteau garantis.

diy lend
Prête une échelle de 3 m
Échelle en aluminium à deux plans, 3 m déployée. Je la prête volontiers pour le week-end ; il
faut venir la chercher, elle ne rentre pas dans une petite voiture.

diy lend
Perceuse à percussion et coffret de forets à prêter
Perceuse 750 W avec forets béton, bois et métal. Je la prête pour quelques jours, rendez-la avec
les forets rangés dans la boîte s'il vous plaît.

diy request
Aide pour poser du papier peint
Je refais la chambre de ma fille et je n'ai jamais posé de papier peint. Quelqu'un qui sait
faire pourrait-il me montrer les bons gestes pendant la première heure ?

diy service Rebberg
Petits travaux de peinture par un retraité du bâtiment
Peintre pendant 35 ans, je peux vous aider à repeindre une pièce, reboucher des trous ou poser
des plinthes. Vous fournissez la peinture, moi le savoir-faire.

diy lend
Prête ponceuse excentrique et abrasifs
Ponceuse excentrique avec une vingtaine d'abrasifs (grains 80 à 240). Idéale pour rénover un
meuble, une porte ou une rambarde.

diy request
Fixer des étagères dans une cloison en placo
J'ai trois étagères à fixer dans une cloison en plaques de plâtre et j'ai peur que tout tombe
avec les livres. Conseils ou coup de main bienvenus, j'ai des chevilles Molly.

diy barter
Échange jardinage contre un peu d'électricité
J'ai la main verte mais deux mains gauches. Je taille vos haies ou je désherbe votre potager en
échange d'une aide pour changer deux prises et un interrupteur.

diy lend
Scie sauteuse et serre-joints disponibles
Je prête ma scie sauteuse avec des lames bois et métal, et quatre serre-joints de 30 cm.
Disponibles en semaine après 18 h.

diy request
Quelqu'un aurait une décolleuse à papier peint ?
Trois couches de vieux papier peint dans le couloir… Je cherche une décolleuse vapeur pour un
week-end. Je peux laisser une caution.

diy service quartier
Atelier bois partagé le mercredi après-midi
L'atelier de l'association ouvre le mercredi de 14 h à 18 h : établis, scies, défonceuse. Venez
avec votre projet, un bénévole vous guide. Adhésion à prix libre.

diy give
Donne restes de carrelage gris 30×60
Il me reste 4 m² de carrelage gris 30×60 et un demi-sac de colle. Parfait pour une petite salle
de bain ou une crédence.

diy request Riedisheim
Conseils pour isoler des combles perdus
Maison des années 60 à Riedisheim, combles non isolés. Quelqu'un qui l'a déjà fait pourrait-il
passer jeter un œil et me dire par où commencer ?

diy lend
Nettoyeur haute pression à prêter
Nettoyeur haute pression pour la terrasse, les dalles ou le vélo, avec une rallonge de 15 m. Je
le prête contre un petit mot quand vous le rapportez.

diy request Kingersheim
Aide pour monter un abri de jardin
Abri de jardin en bois de 2 × 3 m livré en kit. Il faut être deux pour dresser les murs. Samedi
ou dimanche prochain, à Kingersheim. Barbecue à la clé !

diy give
Donne pots de peinture entamés
Cinq pots de peinture acrylique (blanc, gris perle, vert sauge), à moitié pleins, bien refermés.
De quoi faire une chambre d'enfant ou des meubles.

diy service
Je monte vos meubles en kit
J'ai monté tous les meubles de mon appartement et j'y ai pris goût. Je viens avec ma visseuse
pour un lit, une commode ou une cuisine entière.

diy barter
Couture contre pose de tringles à rideaux
Je vous apprends les bases de la machine à coudre si vous m'aidez à poser deux tringles à
rideaux. Murs en béton, je n'y arrive pas seule.

diy lend
Prête niveau laser en croix
Pour aligner des cadres ou poser une crédence bien droite, mon niveau laser est à disposition,
avec son trépied et des piles neuves.

diy request
Cherche quelqu'un pour tailler une haie de thuyas
Haie de 15 m sur 2 m de haut et je n'ai plus la force. J'ai le taille-haie et la remorque pour
les déchets verts, il manque quelqu'un pour le tenir !

diy service quincaillerie
Clés reproduites gratuitement pour les voisins
Une clé de boîte aux lettres perdue, un double pour la voisine qui arrose les plantes ? On
reproduit une clé plate gratuite par membre de 1Mile, le temps d'un café.

diy lend quincaillerie
Prêt de carrelette et de mélangeur à mortier
Le magasin prête une carrelette de 60 cm et un mélangeur à mortier pour vos petits chantiers.
Pièce d'identité demandée, retour sous 48 h.

repairs service velo
Atelier réparation vélo le samedi matin
Crevaison, freins, dérailleur : venez réparer votre vélo avec nous le samedi de 9 h à 12 h.
Outils et conseils gratuits, vous ne payez que les pièces.

repairs request
Ma machine à laver ne vidange plus
Lave-linge de 6 ans, il s'arrête en fin de cycle avec de l'eau au fond. Je pense que c'est la
pompe ou le filtre. Quelqu'un qui s'y connaît pourrait regarder ?

repairs service repair
Repair Café le premier samedi du mois
Grille-pain, lampe, aspirateur, vêtement déchiré : on répare ensemble au lieu de jeter. Premier
samedi du mois, de 14 h à 17 h, dans la salle paroissiale Saint-Fridolin.

repairs request
Changer la fermeture éclair d'un manteau
Fermeture éclair cassée sur un manteau d'hiver que j'aime beaucoup. Quelqu'un a une machine et
sait remplacer un zip ? Je fournis la fermeture.

repairs service
Dépannage informatique pour les seniors
Ordinateur lent, imprimante muette, messagerie introuvable : je passe chez vous et je regarde,
sans rien vendre. Patience garantie.

repairs request
Ordinateur portable qui reste sur un écran noir
Mon portable s'allume, le ventilateur tourne, mais l'écran reste noir. Toutes les photos de mes
enfants sont dessus… Quelqu'un saurait récupérer le disque ?

repairs request
Fuite sous l'évier de la cuisine
Le siphon goutte depuis une semaine, j'ai resserré tout ce que je pouvais. Quelqu'un pourrait
passer voir ? J'achète les pièces qu'il faudra.

repairs service
Ourlets, boutons et petites retouches
Couturière à la retraite, je fais les ourlets de pantalon, je remplace boutons et fermetures.
Déposez vos vêtements, c'est prêt dans la semaine.

repairs request Rebberg
Réglage des freins de mon vélo
Mes freins ne freinent presque plus et j'ai peur dans la descente du Rebberg. Quelqu'un peut
m'aider à les régler et m'expliquer comment faire la prochaine fois ?

repairs barter
Je répare le petit électroménager contre des confitures
Bricoleur en électronique, je répare grille-pains, bouilloires et radios. En échange, j'accepte
volontiers un pot de confiture maison !

repairs request
Quatre chaises en paille à rempailler
J'ai hérité des chaises de ma grand-mère et l'assise est crevée. Quelqu'un connaît le
rempaillage, ou connaît quelqu'un qui le pratique ?

repairs service
Écran de téléphone changé à prix coûtant
Je répare les smartphones en amateur depuis des années. Écran, batterie, connecteur de charge :
vous payez la pièce, la main-d'œuvre est offerte.

repairs request
Charnières de placard arrachées
Les charnières d'une porte de placard de cuisine sont sorties du bois. Besoin de quelqu'un avec
de la colle, des tourillons et de la patience.

repairs lend
Prête multimètre et fer à souder
Pour vos petites réparations électroniques : multimètre numérique, fer à souder 60 W, étain et
tresse à dessouder.

repairs request
Volet roulant bloqué à mi-hauteur
Le volet de la chambre ne monte ni ne descend, la sangle a l'air coincée dans le caisson. J'ai
une échelle mais je ne sais pas ouvrir le coffre.

repairs service velo
Révision gratuite des vélos d'enfants
Pendant les vacances scolaires, on vérifie gratuitement freins, pneus et éclairage des vélos
d'enfants. Passez à l'atelier avec le vélo… et l'enfant !

repairs request
Roue de poussette qui a du jeu
La roue avant de notre poussette fait un bruit terrible et la marque ne vend plus la pièce.
Quelqu'un aurait une astuce ou une roue compatible ?

repairs barter
Remise en état de vélo contre cours d'anglais
Je remets en état n'importe quel vélo (câbles, roues, transmission). J'aimerais en échange
améliorer mon anglais pour le travail.

repairs request
Robinet de salle de bain qui goutte
Mon robinet goutte en permanence. Il faut sans doute changer la cartouche, mais je ne sais pas
laquelle acheter ni comment la démonter.

repairs service Brunstatt
Je recolle et revernis les meubles en bois
Pied de table branlant, chaise qui grince, placage décollé : je répare les meubles en bois dans
mon garage à Brunstatt. Gratuit, j'aime ça.

repairs request
Liseuse figée depuis une chute
Ma liseuse reste bloquée sur la même page depuis qu'elle est tombée. Quelqu'un a une idée avant
que je la jette ?

repairs lend demo
Prête boîte à outils complète
Tournevis, clés Allen, pince, marteau, mètre : tout ce qu'il faut pour les petites réparations
de la maison. Je la prête pour la semaine.

lessons service
Cours de guitare pour débutant
Guitariste amateur depuis 20 ans, j'apprends les premiers accords et quelques chansons aux
débutants, enfants ou adultes. J'ai une guitare à prêter si besoin.

lessons request
Cherche aide aux devoirs en maths niveau 4e
Mon fils décroche en maths depuis la rentrée (équations, géométrie). Une heure par semaine
suffirait, chez nous ou à la médiathèque.

lessons service cafe
Table de conversation franco-allemande le mardi
Chaque mardi à 18 h, une table de conversation en allemand au café. Tous les niveaux, la
première boisson est offerte aux membres de 1Mile.

lessons request
Apprendre à utiliser mon smartphone
J'ai 78 ans et mes petits-enfants m'ont offert un téléphone. Je voudrais savoir envoyer des
photos et faire des appels vidéo. Qui aurait un peu de patience ?

lessons barter
Cuisine marocaine contre cours de piano
Je vous apprends le couscous, la pastilla et les cornes de gazelle ; j'aimerais en échange
apprendre les bases du piano pour accompagner ma fille.

lessons service
Soutien en français pour collégiens
Professeure des écoles en disponibilité, j'aide en lecture, rédaction et orthographe, de la 6e à
la 3e. Le mercredi après-midi ou le samedi matin.

lessons request
Qui m'apprendrait les bases de l'alsacien ?
Ma belle-famille parle alsacien à table et je ne comprends rien ! Je cherche quelqu'un pour
m'apprendre les bases, en échange d'un bon repas.

lessons service librairie
Atelier d'écriture à la librairie
Un jeudi sur deux à 18 h 30, atelier d'écriture ouvert à tous dans la librairie. Thème libre,
bienveillance obligatoire, huit places.

lessons service
Initiation au tricot
Je tricote depuis l'enfance et je serais ravie de transmettre. Aiguilles et laine fournies pour
commencer une première écharpe.

lessons request
Cherche professeur de chant pour ma fille de 14 ans
Elle chante du matin au soir et voudrait apprendre à poser sa voix. Quelqu'un qui enseigne, ou
qui chante dans une chorale ?

lessons service quartier
Cours de français pour nouveaux arrivants
Des bénévoles donnent des cours de français langue étrangère le lundi et le jeudi à 18 h.
Gratuit, tous niveaux, inscription sur place au local.

lessons request
Relecture de CV et de lettre de motivation
Je cherche un emploi dans la logistique et mon CV date de dix ans. Quelqu'un qui connaît le
recrutement pourrait-il le relire avec moi ?

lessons service
Initiation à la programmation pour ados
Développeur, j'anime une initiation à Python pour les 12–16 ans le samedi matin : petits jeux,
robots, premier site web.

lessons barter
Cours d'espagnol contre cours d'aquarelle
Je suis colombienne et je donne des cours d'espagnol. J'aimerais apprendre l'aquarelle : on
s'arrange ?

lessons request
Apprendre à nager à 35 ans
Je ne sais pas nager et j'ai un peu honte d'aller aux cours collectifs. Quelqu'un de patient
pour m'accompagner à la piscine de l'Illberg ?

lessons service
Yoga doux au parc Salvator le dimanche
Chaque dimanche à 10 h au parc Salvator, une heure de yoga doux, débutants bienvenus. Apportez
un tapis ou une grande serviette.

lessons service boulangerie
Atelier pain au levain au fournil
Une fois par mois, on ouvre le fournil le dimanche après-midi : pétrissage, façonnage, cuisson.
Vous repartez avec votre pain et un peu de levain.

lessons request
Réviser le code de la route à deux
Je passe l'examen du code dans trois semaines. Je cherche quelqu'un qui l'a eu récemment pour
réviser avec moi les séries difficiles.

lessons service
Aide en anglais pour lycéens
Ancienne assistante de langue à Manchester, j'aide les lycéens en anglais : oral du bac,
compréhension, grammaire.

lessons request
Balade photo pour sortir du mode automatique
J'ai un reflex depuis Noël et je reste en mode auto. Qui pourrait m'expliquer ouverture, vitesse
et ISO pendant une balade photo ?

lessons service
Initiation aux échecs le mercredi
Je joue en club depuis 30 ans. J'initie enfants et adultes le mercredi après-midi, plateaux et
pendules fournis.

lessons service demo
Aide pour les démarches sur ordinateur
Je travaille dans le numérique : je peux aider à créer une adresse mail, remplir un formulaire
en ligne ou faire une visio, chez vous ou au café.

leisure request Dornach
Partenaire de tennis pour le dimanche matin
Niveau intermédiaire, je cherche quelqu'un pour taper la balle le dimanche vers 9 h aux courts
de Dornach. Je réserve le terrain.

leisure service club
Foot : séances d'essai pour les filles de 8 à 12 ans
Le club lance une équipe féminine ! Deux séances d'essai gratuites, le mercredi à 14 h au stade.
Crampons et protège-tibias prêtés.

leisure request
Joueurs pour nos soirées jeux de société
Soirée jeux chaque vendredi à la maison (Catan, Dixit, Codenames…). Il nous manque deux ou trois
joueurs, débutants bienvenus.

leisure give
Donne deux places pour le concert de samedi à la Filature
Deux places pour le concert de samedi soir à la Filature, je ne pourrai pas y aller. Je préfère
qu'elles servent à quelqu'un !

leisure request
Compagnons de randonnée dans les Vosges
Je marche le dimanche (Grand Ballon, Petit Ballon, lac de la Lauch), 15 à 20 km. Je cherche des
compagnons de marche, on partage la voiture.

leisure service Centre
Balade commentée du vieux Mulhouse
Passionné d'histoire locale, je vous fais découvrir la place de la Réunion, le temple
Saint-Étienne et la cité ouvrière. Une heure et demie, gratuit.

leisure lend
Prête tente familiale et matelas
Tente 4 places montée en 10 minutes et deux matelas autogonflants, pour un week-end ou les
vacances.

leisure request
Partenaire de course à pied le long du canal
Je cours trois fois par semaine vers 18 h 30 le long du canal du Rhône au Rhin, 6 à 8 km, allure
tranquille. Plus motivant à deux !

leisure barter
Échange romans policiers contre BD
Une cinquantaine de polars en poche à échanger contre des BD (Astérix, Gaston, Spirou…) pour mon
fils de 10 ans.

leisure service cafe
Soirée quiz au café le premier jeudi du mois
Équipes de 2 à 6, questions sur Mulhouse, le cinéma et la musique. L'équipe gagnante choisit la
playlist du mois suivant.

leisure request
Une chorale qui accepte les débutants ?
J'aimerais chanter en groupe, mais je ne lis pas la musique. Y a-t-il une chorale dans le
quartier qui accueille des débutants ?

leisure lend
Ludothèque de salon : jeux de société à emprunter
Une étagère entière de jeux : Carcassonne, 7 Wonders, Skyjo, Time's Up… Empruntez-en deux à la
fois, rendez-les complets.

leisure service jardins
Trois parcelles libres aux jardins partagés
Trois parcelles de 20 m² se libèrent. Priorité aux familles sans jardin ; on partage les outils,
le compost et l'eau de pluie.

leisure request
Partenaire de belote pour mon père
Mon père, 84 ans, adore la belote et s'ennuie depuis que le club a fermé. Une partie par semaine
lui ferait tellement plaisir.

leisure give
Donne puzzles de 1000 pièces complets
Six puzzles de 1000 pièces, tous complets (je les ai comptés !). Paysages et tableaux célèbres.

leisure service librairie
Club de lecture du dernier mardi
Le dernier mardi du mois, on discute d'un roman choisi ensemble. Le livre du mois est à -5 %
pour les participants, et le thé est offert.

leisure request Bourtzwiller
Un quatrième pour le badminton du mardi
Nous sommes trois et il nous manque un quatrième pour jouer en double le mardi soir au gymnase
de Bourtzwiller.

leisure lend
Prête kayak gonflable deux places
Kayak gonflable avec pagaies et gilets, parfait pour le plan d'eau de Reiningue. Je vous montre
comment le gonfler et le sécher.

leisure barter Brunstatt
Un coin de potager contre une part de la récolte
J'ai un grand jardin à Brunstatt que je n'arrive plus à cultiver. Je prête un coin de potager
contre une part des légumes.

leisure service
Pétanque au square le jeudi
Tous les jeudis à 17 h au square, on joue à la pétanque. Boules prêtées, tout le monde peut
venir, même ceux qui ne savent pas pointer.

leisure request
Visiter la Cité de l'Automobile à plusieurs
Je n'ai jamais visité la Cité de l'Automobile et je n'aime pas y aller seul. Qui est partant
pour un samedi après-midi ?

leisure give demo
Donne raquettes de ping-pong et balles
Quatre raquettes de tennis de table et une boîte de balles, très peu servies. Idéal pour la
table du parc.

goods give
Donne vêtements bébé 6 mois
Un grand sac de bodies, pyjamas et petits pulls en taille 6 mois, garçon et fille. Propres et en
bon état, à venir chercher.

goods give boulangerie
Pain invendu donné chaque soir à 19 h
Tous les soirs à 19 h, les pains et viennoiseries du jour qui restent sont donnés. Apportez un
sac en tissu ; premiers arrivés, premiers servis.

goods request
Cherche lit parapluie pour l'été
Mes petits-enfants viennent deux semaines en juillet. Quelqu'un aurait-il un lit parapluie à
prêter ou à donner ?

goods give
Donne canapé trois places gris
Canapé en tissu gris, un peu usé sur les accoudoirs mais très confortable. À enlever au 2e étage
(avec ascenseur), avant la fin du mois.

goods lend
Prête appareil à raclette pour 8
Pour vos soirées d'hiver : appareil à raclette avec poêlons et plateau pierrade. Rendez-le
propre et tout le monde est content.

goods barter
Échange poussette canne contre trottinette
Notre poussette canne ne sert plus. Nous cherchons une trottinette pour notre fille de 5 ans.

goods give
Donne manuels de lycée
Manuels de seconde et de première (maths, physique, histoire), programme en cours. Gratuits pour
les familles qui en ont besoin.

goods request
Recherche vélo enfant 20 pouces
Mon fils de 7 ans a grandi d'un coup. Je cherche un vélo de 20 pouces, même abîmé : on le
réparera ensemble.

goods give epicerie
Colis alimentaires le mardi et le vendredi
L'épicerie solidaire distribue des colis le mardi et le vendredi de 14 h à 17 h. Pas de
justificatif pour une première aide : venez en parler avec nous.

goods request epicerie
Collecte de produits d'hygiène
Nous manquons de dentifrice, savon, couches et protections périodiques. Dépôt possible à
l'épicerie ou au café Le Papotage, aux heures d'ouverture.

goods give
Donne plants de tomates
J'ai semé beaucoup trop de tomates ! Cœur de bœuf, cerise et Green Zebra : une trentaine de
plants. Venez avec une cagette.

goods lend
Prête machine à coudre
Machine à coudre mécanique simple et solide. Je la prête quelques semaines, avec une
démonstration si besoin.

goods give
Donne cartons de déménagement
Une vingtaine de cartons solides et du papier bulle, à peine utilisés. À prendre au
rez-de-chaussée, le soir après 18 h.

goods request
Cherche un petit bureau pour un étudiant
Mon fils entre à l'université en septembre et n'a pas de bureau dans sa chambre. Un bureau
simple ferait très bien l'affaire.

goods barter
Confitures maison contre œufs frais
Je fais de la confiture de mirabelles et de quetsches. J'en échangerais volontiers quelques pots
contre des œufs de poules élevées en plein air.

goods give
Donne caisse de Duplo
Plus de 200 pièces de Duplo avec la plaque de base, toutes lavées : mes enfants sont passés aux
Lego.

goods give
Donne vêtements homme taille L
Pulls, chemises et deux vestes taille L, peu portés. Pour quelqu'un qui en a besoin ou pour une
association.

goods request Illzach
Recherche table et chaises de jardin
On vient d'emménager en rez-de-jardin à Illzach et il n'y a rien dehors. Une table et quelques
chaises, même à repeindre.

goods lend quartier
Tables et chaises pliantes pour vos fêtes
L'association prête dix tables et soixante chaises pliantes aux habitants pour les anniversaires
et les fêtes de rue. Réservation une semaine avant.

goods give
Donne réfrigérateur top 120 litres
Petit frigo top qui fonctionne parfaitement, je passe à un combiné. À venir chercher avec un
diable.

goods give librairie
Livres d'occasion en libre-service devant la librairie
Une caisse de livres d'occasion attend devant la vitrine : prenez, déposez, faites tourner !

goods request
Cherche poussette double
Des jumeaux arrivent au printemps ! Nous cherchons une poussette double d'occasion à petit prix,
ou à emprunter quelques mois.

goods give
Courgettes et salades du potager
Les courgettes débordent, comme chaque année. Courgettes, haricots et salades à donner le samedi
matin, sonnez au portail.

goods barter
Vêtements fille 4 ans contre taille 6 ans
Ma fille a grandi : j'échange son linge en 4 ans (très bon état) contre du 6 ans, pulls et
pantalons surtout.

goods give primeur
Fruits et légumes abîmés mais bons, le samedi à 18 h
Chaque samedi à la fermeture, on donne les fruits et légumes trop mûrs ou tachés. Parfaits pour
les compotes et les soupes.

goods give fleuriste
Donne fleurs coupées du week-end
Le lundi matin, les bouquets du week-end qui ne se vendront plus sont offerts. Pour égayer une
maison de retraite, une classe ou votre cuisine.

goods service primeur
Livraison des courses pour les personnes isolées
Vous ne pouvez pas vous déplacer ? Commandez par téléphone, on livre le jeudi après-midi sans
frais à Illzach et à Kingersheim.

goods give
Donne bocaux en verre pour conserves
Une trentaine de bocaux à joint, de 250 g à 1 kg, avec leurs couvercles. Pour vos confitures ou
vos conserves de l'été.

goods lend
Prête un lit d'appoint pour vos invités
Lit pliant une place avec son matelas, pratique quand la famille débarque. Se range dans un
coffre de voiture.

goods request demo
Cherche une bouilloire qui fonctionne
La mienne vient de rendre l'âme. Si quelqu'un en a une qui dort dans un placard, je la récupère
avec plaisir.

other request
Des bras pour un déménagement samedi matin
Je déménage d'un 3e étage sans ascenseur vers Dornach. Le camion est loué, il me manque deux
paires de bras de 9 h à midi. Pizza offerte !

other request
Nourrir mon chat pendant les vacances
Nous partons dix jours en août. Quelqu'un du quartier pourrait-il passer une fois par jour
nourrir Mistigri et changer sa litière ?

other service
Je promène votre chien à midi
En télétravail, je fais une grande balade tous les midis. Je peux emmener un ou deux chiens
sociables avec le mien.

other request
Arroser mes plantes pendant trois semaines
Absente trois semaines pour le travail, j'ai une vingtaine de plantes et un petit balcon. Je
laisse les clés et des consignes précises.

other service
Aide pour les démarches administratives
Ancien agent de la CAF, j'aide à remplir les dossiers (CAF, retraite, impôts en ligne) et à
comprendre les courriers.

other request quartier
Bénévoles pour la fête de quartier
La fête de quartier a lieu le dernier samedi du mois. Il nous faut des bénévoles pour
l'installation, la buvette et le rangement. Même une heure, ça aide !

other service Riedisheim
Je fais les courses des personnes âgées
Je fais mes courses le samedi matin à Riedisheim : si vous ne pouvez pas vous déplacer,
donnez-moi votre liste, je vous dépose tout à domicile.

other request Dornach
Baby-sitting un samedi soir par mois
Nous cherchons quelqu'un de confiance pour garder nos deux enfants (4 et 7 ans) un samedi soir
par mois, à Dornach.

other service cafe
On garde vos clés au comptoir
Vous attendez un artisan ou des invités ? On garde vos clés au comptoir du café, de 7 h à 20 h,
du mardi au samedi.

other request
Aide pour la déclaration d'impôts en ligne
Je suis veuve depuis peu et c'est mon mari qui s'en occupait. Quelqu'un pourrait-il m'aider,
sans me presser ?

other service
Je réceptionne vos colis en journée
En télétravail toute la semaine, je peux réceptionner vos colis quand vous n'êtes pas là. Je
suis au rez-de-chaussée.

other request Kingersheim
Une visite par semaine à ma grand-mère
Ma grand-mère vit seule à Kingersheim et j'habite loin. Une visite d'une heure par semaine pour
papoter lui ferait un bien fou.

other request epicerie
Bénévoles pour la collecte en supermarché
Deux fois par an, nous collectons des denrées à l'entrée des supermarchés. Il nous manque des
bénévoles pour des créneaux de deux heures.

other request Wittenheim
Vider l'appartement de mes parents
Mes parents entrent en maison de retraite et il faut vider leur appartement de Wittenheim. Je
cherche des bras et des conseils sur ce qu'on peut donner.

other service
Traduction de courriers en turc et en arabe
Je parle turc, arabe et français. J'aide à comprendre ou à rédiger un courrier officiel,
gratuitement.

other barter Bourtzwiller
Garde d'enfants en alternance le mercredi
Parents de Bourtzwiller, on s'organise ? Je garde vos enfants un mercredi, vous gardez les miens
le suivant.

other request parents
Un photographe pour la kermesse de l'école
La kermesse a lieu samedi en huit. Un amateur de photo accepterait-il de faire quelques images
pour le journal de l'école ? Les parents donnent leur accord.

other service
Lecture à voix haute pour personnes malvoyantes
J'ai du temps libre en semaine et j'aime lire à voix haute : journal, courrier, romans. Je me
déplace dans le quartier.

other request
Relever mon courrier pendant un mois
Je pars en cure tout le mois prochain. Il faudrait vider ma boîte aux lettres une fois par
semaine et me prévenir si quelque chose d'urgent arrive.

other give
Donne compost mûr pour vos jardinières
Mon composteur déborde : du compost bien mûr à venir chercher avec vos seaux, pour les
jardinières ou le potager.

other service parents
Pédibus : accompagnement à pied vers l'école
Des parents accompagnent les enfants à pied vers l'école chaque matin, départ 8 h du parc.
Inscrivez vos enfants ou rejoignez les accompagnateurs.

other request fleuriste
Cherche bénévoles pour fleurir la place du marché
Nous offrons les plantes pour fleurir les bacs de la place ; il manque des mains pour planter et
arroser le premier mois.

other request club
Bénévoles pour la buvette du tournoi de printemps
Notre tournoi réunit 40 équipes de jeunes. Il nous faut des bénévoles pour la buvette et
l'accueil des familles, par créneaux de deux heures.

other request jardins
Quelqu'un avec une remorque pour du broyat
La mairie nous donne du broyat de bois pour pailler les parcelles. Il faut une remorque et deux
allers-retours depuis le centre technique.

other request repair
Bénévoles bricoleurs pour le Repair Café
Vous savez souder, coudre ou démonter un aspirateur ? Rejoignez les réparateurs bénévoles, même
une fois par trimestre.

other service
Aide pour écrire une lettre de réclamation
Litige avec un opérateur, un bailleur ou une assurance ? J'aide à écrire une lettre claire et
polie qui a des chances d'aboutir.

goods give velo
Donne chambres à air et pneus d'occasion
Chambres à air réparées et pneus encore bons, toutes tailles de vélos d'adulte. Servez-vous au
bac devant l'atelier.

other service demo
Je garde vos plantes pendant vos vacances
Mon appartement a un grand balcon ensoleillé : je peux accueillir quelques plantes le temps de
vos vacances et les arroser.
"""


def _parse_ads(text: str) -> tuple[tuple[str | None, str, str, str, str], ...]:
    """(who, kind, category, title, body) for every ad of ADS_TEXT."""
    ads = []
    for block in text.strip().split("\n\n"):
        header, title, *body = block.strip().splitlines()
        category, kind, *who = header.split()
        ads.append((who[0] if who else None, kind, category, title, " ".join(body)))
    return tuple(ads)


ADS = _parse_ads(ADS_TEXT)

CLOSED_COUNT = 9
EXPIRED_COUNT = 6
TWO_MILES_SHARE = 0.3


def load_demo() -> dict:
    """Fill an empty database with the Mulhouse demo neighbourhood; return what was made.

    Works with or without a request context (the services translate their messages, and
    Babel's locale selector reads the request). Raises RuntimeError when members already exist.
    """
    if has_request_context():
        return _load()
    with current_app.test_request_context():
        return _load()


def _load() -> dict:
    if db.session.scalar(select(func.count()).select_from(Member)):
        raise RuntimeError(
            "The database already has members: demo data is only loaded into an empty database."
        )
    rng = random.Random(SEED)
    now = utcnow().replace(second=0, microsecond=0)
    # One scrypt hash of the shared password serves every demo member: hashing costs about
    # 0.2 s by design, which 41 sign-ups would pay for nothing.
    shared_hash = hash_password(DEMO_PASSWORD)
    members = {spec.key: _create_member(spec, rng, now, shared_hash) for spec in MEMBERS}
    lifetime = timedelta(days=current_app.config["LISTING_LIFETIME_DAYS"])
    plans = _plan_listings(members, rng, now, lifetime)
    # Created in date order so that ids grow with time, as on a real site.
    for plan in sorted(plans, key=lambda p: p.created_at):
        listing = create_listing(plan.author, plan.data)
        listing.created_at, listing.updated_at = plan.created_at, plan.updated_at
        listing.expires_at, listing.status = plan.expires_at, plan.status
    db.session.commit()
    # Demo addresses are not real: no notification e-mail may leave while the demo plays.
    for member in members.values():
        member.email_notifications = False
    exchanges = _exchanges(members, rng, now)
    exchanges.update(load_projects(members, now))  # projects of general interest (onemile.projects.demo)
    for member in members.values():
        member.email_notifications = True
    db.session.commit()
    return {
        "members": db.session.scalar(select(func.count()).select_from(Member)),
        "miles": db.session.scalar(select(func.count()).select_from(Mile)),
        "listings": db.session.scalar(select(func.count()).select_from(Listing)),
        **exchanges,
        **load_demo_mags(members, now),
    }


def _email(spec: DemoMember) -> str:
    if spec.email:
        return spec.email
    local = f"{spec.first_name}.{spec.last_name}".lower().replace(" ", "")
    ascii_local = unicodedata.normalize("NFKD", local).encode("ascii", "ignore").decode()
    return f"{ascii_local}@{EMAIL_DOMAIN}"


def _near(place: str, rng: random.Random, max_m: float = 450.0) -> LatLon:
    """A point somewhere in the neighbourhood or around the landmark."""
    lat, lon = NEIGHBOURHOODS[place][:2] if place in NEIGHBOURHOODS else LANDMARKS[place]
    return destination(LatLon(lat, lon), rng.uniform(0.0, 360.0), rng.uniform(40.0, max_m))


def _create_member(spec: DemoMember, rng: random.Random, now: datetime, password_hash: str) -> Member:
    """Sign the member up, then set the first mile on their real place and add the others,
    as a member would in the app after sign-up."""
    home = _near(spec.home, rng)
    member = register(
        SignupData(
            email=_email(spec),
            password=DEMO_PASSWORD,
            first_name=spec.first_name,
            last_name=spec.last_name,
            postal_code=NEIGHBOURHOODS[spec.home][2],
            country="FR",
            kind=spec.kind,
            organisation_name=spec.organisation,
            language="fr",
            picked_point=home,
        ),
        password_hash=password_hash,
    )
    first = member.miles[0]
    # Sign-up puts every 68100/68200 member on the same Mulhouse centroid, named after the
    # town; members then move and rename it.
    rename_mile(member, first.id, spec.home_mile)
    move_mile(member, first.id, home)
    for name, place in spec.extra_miles:
        add_mile(member, name, _near(place, rng))
    joined = now - timedelta(days=rng.uniform(35, 180), minutes=rng.randrange(24 * 60))
    member.created_at = joined
    # Demo members confirmed their address when they joined: they can post and answer.
    member.email_verified_at = joined
    for mile in member.miles:
        mile.created_at = joined + timedelta(minutes=rng.randrange(5, 60 * 24 * 7))
    return member


@dataclass(frozen=True)
class _Plan:
    author: Member
    data: ListingData
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    status: str


def _plan_listings(
    members: dict[str, Member], rng: random.Random, now: datetime, lifetime: timedelta
) -> list[_Plan]:
    """Choose an author, miles, dates and a state for every ad."""
    specs = {spec.key: spec for spec in MEMBERS}
    people = [key for key, spec in specs.items() if spec.kind == "person" and key != "demo"]
    load = dict.fromkeys(people, 0)

    def pick_person(neighbourhood: str | None) -> str:
        pool = [k for k in people if neighbourhood is None or specs[k].home == neighbourhood]
        fewest = min(load[k] for k in pool or people)
        key = rng.choice([k for k in pool or people if load[k] == fewest])
        load[key] += 1
        return key

    states = ["closed"] * CLOSED_COUNT + ["expired"] * EXPIRED_COUNT
    states += ["open"] * (len(ADS) - len(states))
    rng.shuffle(states)
    plans = []
    for (who, kind, category, title, body), status in zip(ADS, states, strict=True):
        key = who if who in specs else pick_person(who)
        author = members[key]
        miles = [mile.id for mile in author.miles]
        primary = author.primary_mile.id
        chosen = (primary,)
        if len(miles) > 1 and rng.random() < TWO_MILES_SHARE:
            chosen = (primary, rng.choice([m for m in miles if m != primary]))
        data = ListingData(
            kind="request" if kind == "request" else "offer",
            offer_type=None if kind == "request" else kind,
            category=category,
            title=title,
            body=body,
            mile_ids=chosen,
        )
        plans.append(_timed(author, data, status, rng, now, lifetime))
    return plans


def _timed(author: Member, data: ListingData, status: str, rng: random.Random,
           now: datetime, lifetime: timedelta) -> _Plan:
    """Place the listing in time: posting date, last change, expiry and state."""
    if status == "expired":
        # Expired the way the app expires listings, a full lifetime after posting: a few
        # days ago, so these were posted a little more than a lifetime ago.
        expires = now - timedelta(minutes=rng.randrange(6 * 60, 5 * 24 * 60))
        return _Plan(author, data, expires - lifetime, expires, expires, status)
    created = now - timedelta(minutes=rng.randrange(30, LISTING_SPREAD_DAYS * 24 * 60))
    expires = created + lifetime
    updated = created
    if status == "closed":
        updated = created + (now - created) / 2
    elif expires <= now:  # only with a lifetime shorter than the spread
        status = "expired"
    return _Plan(author, data, created, updated, expires, status)


# --- Conversations, finished services and smiles (the exchange loop) ----------------------

OPENERS = (
    "Bonjour ! Je peux vous aider ce week-end si ça vous va.",
    "Bonsoir, c'est toujours d'actualité ?",
    "Salut, je suis disponible mercredi après-midi.",
    "Bonjour, ça m'intéresse beaucoup. On peut se retrouver où ?",
    "Coucou, j'habite à deux rues, je peux passer quand vous voulez.",
    "Bonjour, j'ai l'habitude de faire ça, je peux venir avec mes outils.",
    "Hello ! Est-ce que samedi matin vous conviendrait ?",
    "Bonjour, je suis intéressée. Vous êtes disponible en fin de journée ?",
)
REPLIES = (
    "Oui, parfait ! Samedi 10 h devant la boulangerie ?",
    "Merci beaucoup, c'est toujours possible.",
    "Super, mercredi 17 h ça me va très bien.",
    "Génial, je vous attends. Sonnez au deuxième.",
    "Avec plaisir ! Je vous dis ça dès que je rentre du travail.",
    "Oui bien sûr, on se retrouve à l'arrêt de tram ?",
)
FOLLOW_UPS = (
    "C'est noté, à samedi alors !",
    "Parfait, à tout à l'heure.",
    "Entendu, je prends de quoi faire.",
    "Très bien, merci pour votre réponse rapide !",
)
THANKS = (
    "Merci encore, c'était parfait !",
    "Un grand merci pour le coup de main.",
    "Top, tout fonctionne. Merci !",
    "Merci, c'était un plaisir de se rencontrer.",
)
CONVERSATION_COUNT = 48
FINISHED_COUNT = 18
PENDING_COUNT = 3


def _exchanges(members: dict[str, Member], rng: random.Random, now: datetime) -> dict:
    """Conversations under open listings, some services finished and paid in smiles, a few
    confirmations still pending (one of them waits for the demo account)."""
    from .conversations import services as conversations

    people = list(members.values())
    demo = members_by_email(people, DEMO_EMAIL)
    listings = db.session.scalars(
        select(Listing).where(Listing.status == "open", Listing.expires_at > now).order_by(Listing.id)
    ).all()
    chosen = rng.sample(listings, min(CONVERSATION_COUNT, len(listings)))
    # The demo account takes part: it answers two offers and a request, and its own ads get
    # answers. It is thanked with a smile for the request, and one offer waits for it to
    # confirm, so the whole loop can be tried from that account.
    others = [item for item in listings if item.author_id != demo.id]
    demo_offers = [item for item in others if item.kind == "offer"][:2] + [
        item for item in others if item.kind == "request"
    ][:1]
    chosen = demo_offers + [item for item in chosen if item not in demo_offers]
    threads = []
    for index, listing in enumerate(chosen):
        if index < len(demo_offers):
            responder = demo
        else:
            responder = rng.choice([m for m in people if m.id != listing.author_id])
        author = db.session.get(Member, listing.author_id)
        start = listing.created_at + timedelta(hours=rng.uniform(1, 48))
        conversation = conversations.answer(responder, listing.id, rng.choice(OPENERS))
        lines = [(author, rng.choice(REPLIES)), (responder, rng.choice(FOLLOW_UPS))]
        for sender, body in lines[: rng.randint(1, 2)]:
            conversations.post_message(sender, conversation.id, body)
        for step, message in enumerate(conversation.messages):
            message.created_at = min(now, start + timedelta(minutes=37 * step + rng.randint(0, 30)))
        conversation.created_at = conversation.messages[0].created_at
        conversation.last_message_at = conversation.messages[-1].created_at
        threads.append((conversation, author, responder))
    db.session.commit()

    finished = pending = 0
    waiting: set[int] = set()  # beneficiaries with a confirmation pending (one each)
    for conversation, author, responder in threads:
        helper_is_author = conversation.listing.kind == "offer"
        beneficiary = responder if helper_is_author else author
        if smiles_balance(beneficiary.id) < 1 or beneficiary.id in waiting:
            continue
        if helper_is_author and pending < PENDING_COUNT and (pending > 0 or beneficiary.id == demo.id):
            conversations.mark_done(author, conversation.id)  # waits for the beneficiary
            waiting.add(beneficiary.id)
            pending += 1
        elif beneficiary.id != demo.id and finished < FINISHED_COUNT:
            talked_until = conversation.last_message_at
            completion = conversations.mark_done(author, conversation.id)
            if completion.status == "pending":
                conversations.confirm(beneficiary, completion.id)
            thanks = conversations.post_message(beneficiary, conversation.id, rng.choice(THANKS))
            # Dated like the rest of the story: the service happened after the talk.
            done_at = min(now, talked_until + timedelta(hours=rng.uniform(4, 48)))
            completion.created_at = completion.resolved_at = done_at
            paid = db.session.scalar(select(Transfer).where(Transfer.idempotency_key == f"service:{completion.id}"))
            paid.created_at = done_at
            thanks.created_at = conversation.last_message_at = min(now, done_at + timedelta(minutes=20))
            finished += 1
    db.session.commit()
    return {"conversations": len(threads), "services_finished": finished, "confirmations_pending": pending}


def members_by_email(people: list[Member], email: str) -> Member:
    """The demo member with this address."""
    return next(member for member in people if member.email == email)


def smiles_balance(member_id: int) -> int:
    """The member's balance (imported late: demo data loads after the app is built)."""
    from .smiles.services import balance_of

    return balance_of(member_id)
