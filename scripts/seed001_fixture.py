#!/usr/bin/env python3
"""Rebuilds tests/fixtures/seed001/interventi.csv: 179 interventions whose margins are the
tables of seed 001 (ARS Toscana, "Inserimenti lavorativi 2011-2012"). Each table of the seed
is a two-way margin (by organisation kind, by intervention type, or by conclusion); values
are dealt out within those groups so that every printed, internally consistent cell is met.
Deterministic: the same file every run. See docs/seed001-inconsistencies.md for the cells
the seed itself gets wrong and how the fixture resolves them."""
import csv, random, sys, os

rng = random.Random(2011)

# Table 3: activated interventions by AUSL zone and type (esp, lav, socio) + CEART.
ZONES = [("1-MS", 11, 2, 6), ("2-LU", 1, 2, 9), ("3-PT", 1, 2, 9), ("4-PO", 2, 7, 3), ("5-PI", 10, 1, 1),
         ("6-LI", 1, 4, 11), ("7-SI", 1, 1, 3), ("8-AR", 1, 3, 8), ("9-GR", 0, 2, 7), ("10-FI", 0, 4, 8),
         ("11-Emp", 1, 4, 5), ("12-Viar.", 1, 2, 12)]
CEART = ("CEART", 8, 13, 12)
TYPES = ["esperienza_formativa", "inserimento_lavorativo", "socio_terapeutico"]

# Endings per (kind, type): tables 6, 7 and 8 together (see the inconsistencies document).
P, I = "positivo", "interrotto"
ENDINGS = {
    ("CEART", 0): [(P, "completato")] * 6 + [(I, "ricaduta_dipendenza"), (I, "aggravamento_salute")],
    ("CEART", 1): [(P, "completato")] * 9 + [(P, "prorogato"), (P, "lavoro_presso_ente_ospitante"),
                                             (I, "ricaduta_dipendenza"), (I, "altro")],
    ("CEART", 2): [(P, "completato")] * 8 + [(P, "prorogato"), (P, "lavoro_presso_altro_ente"),
                                             (I, "ricaduta_dipendenza"), (I, "altro")],
    ("AUSL", 0): [(P, "completato")] * 20 + [(P, "prorogato")] * 5 + [(P, "lavoro_presso_ente_ospitante")]
                 + [(I, "aggravamento_salute"), (I, "abbandono_programma"), (I, "altro"), (I, "altro")],
    ("AUSL", 1): [(P, "completato")] * 16 + [(P, "prorogato")] * 6 + [(P, "lavoro_presso_ente_ospitante")] * 2
                 + [(P, "lavoro_presso_altro_ente")] * 2
                 + [(I, "ricaduta_dipendenza")] * 2 + [(I, "non_interesse_lavoro"), (I, "aggravamento_salute"),
                    (I, "aggravamento_detentivo"), (I, "problemi_azienda"), (I, "altro"), (I, "altro")],
    ("AUSL", 2): [(P, "completato")] * 48 + [(P, "prorogato")] * 19 + [(P, "lavoro_presso_ente_ospitante")] * 2
                 + [(P, "lavoro_presso_altro_ente")]
                 + [(I, "ricaduta_dipendenza")] * 4 + [(I, "non_interesse_lavoro"), (I, "aggravamento_salute"),
                    (I, "aggravamento_detentivo"), (I, "problemi_azienda"), (I, "abbandono_programma")]
                 + [(I, "altro")] * 3,
}

def deal(values, n):
    values = list(values)
    assert len(values) == n, (len(values), n)
    rng.shuffle(values)
    return values

def counts(pairs):
    out = []
    for v, k in pairs:
        out += [v] * k
    return out

rows = []
for name, *per_type in ZONES + [CEART]:
    kind = "CEART" if name == "CEART" else "AUSL"
    for t, n in enumerate(per_type):
        for _ in range(n):
            rows.append({"ente": name, "kind": kind, "t": t})

for kind in ("AUSL", "CEART"):
    for t in range(3):
        group = [r for r in rows if r["kind"] == kind and r["t"] == t]
        for r, e in zip(group, deal(ENDINGS[(kind, t)], len(group))):
            r["esito"], r["dettaglio"] = e

# Tables 4, 5, 13: by organisation kind.
BY_KIND = {
    "AUSL": {
        "ricadute": counts([("0", 72), ("2", 35), ("6", 12), ("12", 21), ("", 6)]),
        "valutazione": counts([("positiva", 105), ("parzialmente_positiva", 28), ("parzialmente_negativa", 7), ("negativa", 6)]),
        "sostanza_inizio": counts([("eroina", 76), ("alcol", 22), ("cocaina", 10), ("cannabis", 3), ("altro", 4), ("", 31)]),
        "sostanza_attuale": counts([("eroina", 55), ("alcol", 28), ("cocaina", 8), ("cannabis", 9), ("altro", 3), ("", 43)]),
    },
    "CEART": {
        "ricadute": counts([("0", 23), ("2", 6), ("6", 3), ("12", 1)]),
        "valutazione": counts([("positiva", 20), ("parzialmente_positiva", 10), ("parzialmente_negativa", 2), ("negativa", 1)]),
        "sostanza_inizio": counts([("eroina", 22), ("alcol", 1), ("cocaina", 7), ("cannabis", 2), ("altro", 1)]),
        "sostanza_attuale": counts([("eroina", 10), ("alcol", 1), ("cocaina", 7), ("cannabis", 6), ("", 9)]),
    },
}
for kind, columns in BY_KIND.items():
    group = [r for r in rows if r["kind"] == kind]
    for col, values in columns.items():
        for r, v in zip(group, deal(values, len(group))):
            r[col] = v

# Tables 9, 11, 12: by conclusion (new classification: jobs found are positive).
BY_END = {
    P: {
        "uso": counts([("si", 65), ("no", 84)]),
        "sezione_a": counts([("basso", 24), ("medio", 42), ("alto", 83)]),
        "sezione_b": counts([("basso", 29), ("medio", 76), ("alto", 44)]),
        "sezione_c": counts([("basso", 30), ("medio", 72), ("alto", 47)]),
        "variazione_autonomia": counts([("peggioramento", 34), ("nessuna_variazione", 23), ("miglioramento", 92)]),
    },
    I: {
        "uso": counts([("si", 21), ("no", 9)]),
        "sezione_a": counts([("basso", 12), ("medio", 12), ("alto", 6)]),
        "sezione_b": counts([("basso", 17), ("medio", 9), ("alto", 4)]),
        "sezione_c": counts([("basso", 21), ("medio", 8), ("alto", 1)]),
        "variazione_autonomia": counts([("peggioramento", 11), ("nessuna_variazione", 8), ("miglioramento", 11)]),
    },
}
for end, columns in BY_END.items():
    group = [r for r in rows if r["esito"] == end]
    for col, values in columns.items():
        for r, v in zip(group, deal(values, len(group))):
            r[col] = v

# Table 10: 30 contracts; the ten who found a job have one, twenty who completed too.
contracts = deal(counts([("tempo_indeterminato", 19), ("tempo_determinato", 4), ("formazione_lavoro", 5),
                         ("collaborazione_borsa_lavoro", 2)]), 30)
holders = [r for r in rows if r["dettaglio"].startswith("lavoro_")]
holders += rng.sample([r for r in rows if r["dettaglio"] == "completato"], 20)
for r, c in zip(holders, contracts):
    r["contratto"] = c

# Table 2 (only its headline percentages are printed): sex, age, education, work history.
for col, values in {
    "sesso": counts([("F", 39), ("M", 140)]),
    "eta": counts([(25, 25), (35, 70), (45, 64), (55, 20)]),
    "titolo_studio": counts([("elementare", 25), ("media_inferiore", 120), ("media_superiore", 16),
                             ("qualifica_professionale", 10), ("laurea", 2), ("nessuno", 5), ("", 1)]),
    "storia_lavorativa": counts([("1_5_anni", 90), ("6_20_anni", 57), ("meno_1_anno", 15), ("mai", 10),
                                 ("oltre_20_anni", 7)]),
}.items():
    for r, v in zip(rows, deal(values, len(rows))):
        r[col] = v

DURATION = {0: (3, 12), 1: (6, 14), 2: (6, 14)}
out_path = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "seed001", "interventi.csv")
header = ["id_intervento", "codice_persona", "ente", "tipo_intervento", "data_inizio", "data_fine", "sesso",
          "anno_nascita", "titolo_studio", "storia_lavorativa", "sostanza_inizio", "sostanza_attuale", "ricadute",
          "uso_sostanze_legali", "uso_sostanze_illegali", "esito", "tipo_esito_positivo", "motivo_interruzione",
          "motivo_interruzione_testo", "contratto", "valutazione", "sezione_a", "sezione_b", "sezione_c",
          "variazione_autonomia"]
with open(out_path, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, delimiter=";", lineterminator="\n")
    w.writerow(header)
    for i, r in enumerate(rows, 1):
        year = 2011 + (i % 2)
        month = 1 + (i * 7) % 12
        lo, hi = DURATION[r["t"]]
        months = lo + (i % (hi - lo + 1))
        end_month = month - 1 + months
        end = f"{year + end_month // 12}-{end_month % 12 + 1:02d}-01"
        # Substance use: "si" means at least one; split between legal and illegal.
        legal, illegal = ("si", "no") if r["uso"] == "si" and i % 2 else (("no", "si") if r["uso"] == "si" else ("no", "no"))
        w.writerow([
            f"ARS-{i:03d}", f"P{i:04d}", r["ente"], TYPES[r["t"]], f"{year}-{month:02d}-01", end, r["sesso"],
            year - r["eta"], r["titolo_studio"], r["storia_lavorativa"], r["sostanza_inizio"], r["sostanza_attuale"],
            r["ricadute"], legal, illegal, r["esito"], r["dettaglio"] if r["esito"] == P else "",
            r["dettaglio"] if r["esito"] == I else "",
            "motivo non specificato nella scheda" if r["dettaglio"] == "altro" else "",
            r.get("contratto", ""), r["valutazione"], r["sezione_a"], r["sezione_b"], r["sezione_c"],
            r["variazione_autonomia"],
        ])
print(f"{len(rows)} rows written to {os.path.normpath(out_path)}", file=sys.stderr)
