"""What the generated claims are made of: Tunisian names, places, insurers and care acts.

Every insurer, company, clinic and practitioner here is invented; the first
and family names are common Tunisian ones, the cities real. Prices are in
millimes (1 dinar = 1,000 millimes), in the range Tunisian private care
charged in the mid-2020s, so the amounts look like what ARS handles.
"""

from __future__ import annotations

from dataclasses import dataclass

MALE_FIRST_NAMES = (
    "Mohamed", "Ahmed", "Ali", "Youssef", "Sami", "Karim", "Hichem", "Walid", "Mehdi", "Anis",
    "Slim", "Nabil", "Fares", "Amine", "Bilel", "Hamza", "Skander", "Rami", "Oussama", "Mourad",
    "Lotfi", "Moez", "Tarek", "Zied", "Chokri", "Habib", "Néjib", "Riadh", "Aymen", "Khaled",
)
FEMALE_FIRST_NAMES = (
    "Fatma", "Amel", "Leila", "Sonia", "Ines", "Sarra", "Rim", "Nour", "Mariem", "Asma",
    "Hela", "Olfa", "Salma", "Wafa", "Emna", "Yasmine", "Khadija", "Samia", "Najet", "Rania",
    "Imen", "Dorra", "Sirine", "Manel", "Hajer", "Meriem", "Aïcha", "Zeineb", "Chaïma", "Faten",
)
FAMILY_NAMES = (
    "Ben Ali", "Trabelsi", "Jebali", "Gharbi", "Hammami", "Ben Salah", "Mejri", "Ayari",
    "Bouazizi", "Chaabane", "Dridi", "Ferchichi", "Gharsallah", "Hamdi", "Jlassi", "Khelifi",
    "Mansouri", "Marzouki", "Mbarki", "Nasri", "Oueslati", "Riahi", "Saidi", "Sassi", "Slimani",
    "Tlili", "Zouari", "Ben Amor", "Ben Youssef", "Ben Hassine", "Karoui", "Chebbi", "Belhaj",
    "Kammoun", "Masmoudi", "Ellouze", "Sfar", "Baccouche", "Laabidi", "Bouslama",
)
CITIES = (
    "Tunis", "Sfax", "Sousse", "Kairouan", "Bizerte", "Gabès", "Ariana", "Gafsa", "Monastir",
    "Ben Arous", "Kasserine", "Médenine", "Nabeul", "Mahdia", "Tozeur", "Béja", "Jendouba",
    "Le Kef", "Siliana", "Zaghouan", "Tataouine", "Kébili", "Sidi Bouzid", "Manouba",
)
# The clients: insurers and mutual funds whose group cover ARS administers.
INSURERS = (
    "Assurances El Amen", "Mutuelle Carthage", "Hannibal Assurances", "Assurances Jasmin",
    "Mutuelle du Sahel", "Médina Prévoyance", "Assurances Salammbô", "Mutuelle Ennour",
    "Zitouna Prévoyance", "Assurances Elissa",
)
# The insured's employers (the BS's nomSociete).
COMPANIES = (
    "Textiles du Sahel SA", "Carthage Logistique SARL", "Agro Cap Bon SA", "Djerba Hôtels SA",
    "Mécanique de Bizerte SARL", "Céramiques de Nabeul SA", "Conserveries de Mahdia SA",
    "Tunis Informatique SA", "Chimie du Golfe de Gabès SA", "Électronique de Monastir SA",
    "Huileries de Sfax SARL", "Transports du Nord-Ouest SA", "Matériaux du Centre SA",
    "Banque Régionale de Kairouan", "Laiteries de Béja SA", "Phosphates Services Gafsa SARL",
)
CLINICS = (
    "Clinique Les Jasmins", "Polyclinique Les Oliviers", "Clinique El Manar", "Clinique Ennakhil",
    "Polyclinique Les Berges du Lac", "Clinique Essalama", "Clinique Les Orangers",
    "Polyclinique El Amen",
)
# What a bordereau's sender is: the group's broker or the provider network.
PRESTATAIRES = (
    "Réseau Santé Plus", "Tiers Payant Tunisie", "Cabinet de courtage Medina",
    "Réseau Soins Sahel", "Cabinet Essaada Courtage", "Réseau Pharmacies du Nord",
)
RELATIONSHIPS = ("Assuré", "Conjoint", "Enfant")


@dataclass(frozen=True, slots=True)
class Act:
    product: str
    low: int  # millimes
    high: int
    max_quantity: int


@dataclass(frozen=True, slots=True)
class Chapter:
    name: str
    # The share the contract covers, in percent, and the ceiling per act in
    # millimes (0: none); above it the adherent pays the rest.
    covered_percent: int
    ceiling: int
    provider_kind: str  # doctor, pharmacy, lab, imaging, dentist, optician, clinic
    acts: tuple[Act, ...]


CHAPTERS = (
    Chapter("Consultations", 80, 0, "doctor", (
        Act("Consultation médecin généraliste", 35_000, 45_000, 1),
        Act("Consultation spécialiste", 50_000, 80_000, 1),
        Act("Visite à domicile", 50_000, 70_000, 1),
    )),
    Chapter("Pharmacie", 90, 0, "pharmacy", (
        Act("Amoxicilline 1 g (boîte de 12)", 8_000, 15_000, 2),
        Act("Paracétamol 1000 mg (boîte de 8)", 2_000, 4_000, 3),
        Act("Oméprazole 20 mg (boîte de 28)", 12_000, 20_000, 2),
        Act("Salbutamol spray", 9_000, 14_000, 2),
        Act("Metformine 850 mg (boîte de 30)", 6_000, 10_000, 3),
    )),
    Chapter("Analyses", 80, 0, "lab", (
        Act("Numération formule sanguine", 12_000, 18_000, 1),
        Act("Glycémie à jeun", 5_000, 8_000, 1),
        Act("Bilan lipidique", 25_000, 40_000, 1),
    )),
    Chapter("Radiologie", 70, 0, "imaging", (
        Act("Radiographie thoracique", 40_000, 60_000, 1),
        Act("Échographie abdominale", 70_000, 120_000, 1),
        Act("IRM lombaire", 350_000, 500_000, 1),
    )),
    Chapter("Dentaire", 60, 250_000, "dentist", (
        Act("Détartrage", 40_000, 60_000, 1),
        Act("Soin de carie", 50_000, 90_000, 2),
        Act("Couronne céramique", 400_000, 700_000, 1),
    )),
    Chapter("Optique", 60, 180_000, "optician", (
        Act("Monture", 150_000, 300_000, 1),
        Act("Verres correcteurs (paire)", 200_000, 450_000, 1),
    )),
    Chapter("Hospitalisation", 100, 1_200_000, "clinic", (
        Act("Journée d'hospitalisation", 250_000, 450_000, 3),
        Act("Frais de bloc opératoire", 800_000, 1_500_000, 1),
    )),
)
