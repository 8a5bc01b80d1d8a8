#!/usr/bin/env python3
"""The fifteen outcome tables computed by DuckDB from the same historical file Percorsi imports,
so anyone can check how Percorsi's report compares with a columnar engine on the same machine
and data (issue 13), and that the two agree cell by cell.

    percorsi bench-reports --interventions 1000000 --csv-out /tmp/h.csv     # the file
    percorsi report --programme "Programma storico sintetico" --exact --format json --out /tmp/r.json
    scripts/bench-duckdb.py /tmp/h.csv --iterations 10 --check /tmp/r.json

It loads the file (typed columns, then one classified row per intervention with integer
person ids, as Percorsi's import
classifies it: age class at the start, relapse bucket, substance use, autonomy change with the
post form's threshold, conclusion), then runs every table as one SQL statement, warm, and prints
the load time and the median / p95 of the whole report. `--check` compares every counted cell
(categories and "missing" lines, not totals) and every duration with Percorsi's exact report.

Organisations are the generator's ("Ente storico NNN"): every fifth is an ente ausiliario, the
others SerD (`synthetic::prepare_history`). Needs the `duckdb` Python package
(`scripts/bench-reports.sh` installs it in a virtual environment).
"""

import argparse
import json
import statistics
import sys
import time

import duckdb

# The post-intervention form's autonomy threshold (instruments/scheda_post_intervento.v1.json).
AUTONOMY_THRESHOLD = 2

LOAD = """
CREATE OR REPLACE TABLE raw AS SELECT * FROM read_csv(?, delim=';', header=true, quote='"',
  columns={
    'id_intervento': 'VARCHAR', 'codice_persona': 'VARCHAR', 'ente': 'VARCHAR',
    'tipo_intervento': 'VARCHAR', 'data_inizio': 'DATE', 'data_fine': 'DATE', 'sesso': 'VARCHAR',
    'anno_nascita': 'INTEGER', 'titolo_studio': 'VARCHAR', 'storia_lavorativa': 'VARCHAR',
    'sostanza_inizio': 'VARCHAR', 'sostanza_attuale': 'VARCHAR', 'ricadute': 'INTEGER',
    'uso_sostanze_legali': 'VARCHAR', 'uso_sostanze_illegali': 'VARCHAR', 'esito': 'VARCHAR',
    'tipo_esito_positivo': 'VARCHAR', 'motivo_interruzione': 'VARCHAR',
    'motivo_interruzione_testo': 'VARCHAR', 'contratto': 'VARCHAR', 'valutazione': 'VARCHAR',
    'sezione_a': 'VARCHAR', 'sezione_b': 'VARCHAR', 'sezione_c': 'VARCHAR',
    'autonomia_pre': 'INTEGER', 'autonomia_post': 'INTEGER'});
CREATE OR REPLACE TABLE f AS SELECT
  row_number() OVER () AS id,
  dense_rank() OVER (ORDER BY codice_persona) AS person,
  ente AS org,
  CASE WHEN CAST(regexp_extract(ente, '([0-9]+)$', 1) AS INTEGER) % 5 = 4
       THEN 'ente_ausiliario' ELSE 'ausl_serd' END AS kind,
  tipo_intervento AS type,
  data_inizio AS start_date,
  data_fine AS end_date,
  CASE WHEN year(data_inizio) - anno_nascita <= 13 THEN NULL
       WHEN year(data_inizio) - anno_nascita <= 29 THEN 'fino_29'
       WHEN year(data_inizio) - anno_nascita <= 39 THEN '30_39'
       WHEN year(data_inizio) - anno_nascita <= 49 THEN '40_49'
       ELSE '50_oltre' END AS age,
  upper(sesso) AS sex,
  titolo_studio AS education,
  storia_lavorativa AS work,
  sostanza_inizio AS substance_start,
  sostanza_attuale AS substance_current,
  CASE WHEN ricadute IS NULL THEN NULL WHEN ricadute <= 0 THEN 'nessuna'
       WHEN ricadute <= 3 THEN '1_3' WHEN ricadute <= 10 THEN '4_10' ELSE '11_oltre' END AS relapses,
  CASE WHEN uso_sostanze_legali = 'si' OR uso_sostanze_illegali = 'si' THEN 'almeno_una'
       WHEN uso_sostanze_legali = 'no' AND uso_sostanze_illegali = 'no' THEN 'nessuna'
       ELSE NULL END AS substance_use,
  CASE WHEN esito = 'positivo' AND tipo_esito_positivo IS NOT NULL THEN 'positivi'
       WHEN esito = 'interrotto' AND motivo_interruzione IS NOT NULL THEN 'interrotti'
       ELSE NULL END AS conclusion,
  CASE WHEN esito = 'positivo' THEN tipo_esito_positivo END AS positive_kind,
  CASE WHEN esito = 'interrotto' THEN motivo_interruzione END AS reason,
  contratto AS contract,
  valutazione AS evaluation,
  sezione_a AS section_a, sezione_b AS section_b, sezione_c AS section_c,
  CASE WHEN autonomia_post - autonomia_pre >= {t} THEN 'miglioramento'
       WHEN autonomia_post - autonomia_pre <= -{t} THEN 'peggioramento'
       WHEN autonomia_post IS NOT NULL AND autonomia_pre IS NOT NULL THEN 'nessuna_variazione'
       END AS autonomy
FROM raw WHERE data_inizio IS NOT NULL;
""".replace("{t}", str(AUTONOMY_THRESHOLD))

M = "coalesce({}, 'mancante')"

# Each table: (table number, grid index, SQL giving (row, column, value)). Rows and columns use
# Percorsi's line codes (organisations by name); totals are left out (they are sums).
TABLES = [
    (1, 0, "SELECT org, type, count(*) FROM f GROUP BY ALL"),
    (2, 0, f"SELECT {M.format('age')}, {M.format('sex')}, count(*) FROM p GROUP BY ALL"),
    (2, 1, f"SELECT {M.format('education')}, 'n', count(*) FROM p GROUP BY ALL"),
    (2, 2, f"SELECT {M.format('work')}, 'n', count(*) FROM p GROUP BY ALL"),
    (3, 0, "SELECT org, type, count(*) FROM f GROUP BY ALL"),
    (4, 0, f"SELECT {M.format('substance_start')}, kind, count(*) FROM f GROUP BY ALL"),
    (4, 1, f"SELECT {M.format('substance_current')}, kind, count(*) FROM f GROUP BY ALL"),
    (5, 0, f"SELECT {M.format('relapses')}, kind, count(*) FROM f GROUP BY ALL"),
    (6, 0, """SELECT kind, CASE WHEN positive_kind = 'completato' THEN 'completati'
                 WHEN positive_kind = 'prorogato' THEN 'prolungati'
                 WHEN conclusion = 'positivi' THEN 'lavoro'
                 WHEN conclusion = 'interrotti' THEN 'interrotti' ELSE 'in_corso' END, count(*)
              FROM f GROUP BY ALL"""),
    (7, 0, "SELECT positive_kind, type, count(*) FROM f WHERE conclusion = 'positivi' GROUP BY ALL"),
    (7, 1, "SELECT coalesce(conclusion, 'in_corso'), type, count(*) FROM f GROUP BY ALL"),
    (8, 0, "SELECT reason, type, count(*) FROM f WHERE conclusion = 'interrotti' GROUP BY ALL"),
    (9, 0, f"SELECT conclusion, {M.format('substance_use')}, count(*) FROM f WHERE conclusion IS NOT NULL GROUP BY ALL"),
    (10, 0, "SELECT contract, 'n', count(*) FROM f WHERE conclusion IS NOT NULL AND contract IS NOT NULL GROUP BY ALL"),
    (11, 0, f"SELECT {M.format('section_a')}, conclusion, count(*) FROM f WHERE conclusion IS NOT NULL GROUP BY ALL"),
    (11, 1, f"SELECT {M.format('section_b')}, conclusion, count(*) FROM f WHERE conclusion IS NOT NULL GROUP BY ALL"),
    (11, 2, f"SELECT {M.format('section_c')}, conclusion, count(*) FROM f WHERE conclusion IS NOT NULL GROUP BY ALL"),
    (12, 0, f"SELECT {M.format('autonomy')}, conclusion, count(*) FROM f WHERE conclusion IS NOT NULL GROUP BY ALL"),
    (13, 0, f"SELECT {M.format('evaluation')}, kind, count(*) FROM f WHERE conclusion IS NOT NULL GROUP BY ALL"),
    (14, 0, """SELECT figure, 'valore', n FROM (SELECT count(*) AS attivati,
                 count(*) FILTER (relapses = 'nessuna') AS senza_ricadute,
                 count(*) FILTER (positive_kind = 'completato') AS completati,
                 count(*) FILTER (conclusion = 'positivi') AS conclusi_positivamente,
                 count(*) FILTER (conclusion = 'interrotti') AS interrotti,
                 count(*) FILTER (conclusion IS NOT NULL AND evaluation = 'positiva') AS valutazione_positiva,
                 count(*) FILTER (conclusion IS NOT NULL AND contract IS NOT NULL) AS contratti FROM f)
              UNPIVOT (n FOR figure IN (COLUMNS(*)))"""),
    # Durations in tenths of a month (30.44 days): count, mean and the median of the two middle
    # values (halved, rounded down), per ending and type, per ending, per type and overall; the
    # median from a histogram of tenths, as Percorsi computes it (sorting lists is 10x slower).
    (15, 0, """WITH d AS (SELECT coalesce(positive_kind, 'interrotti') AS r, type AS c,
                 round((end_date - start_date) * 10 / 30.44)::BIGINT AS t
               FROM f WHERE conclusion IS NOT NULL AND end_date IS NOT NULL),
             h AS (SELECT coalesce(r, 'totale') AS r, coalesce(c, 'totale') AS c, t, count(*) AS n
               FROM d GROUP BY GROUPING SETS ((r, c, t), (r, t), (c, t), (t))),
             w AS (SELECT r, c, t, n, sum(n) OVER (PARTITION BY r, c) AS total,
                 sum(n) OVER (PARTITION BY r, c ORDER BY t) AS upto FROM h),
             g AS (SELECT r, c, any_value(total) AS n, round(sum(t * n) / any_value(total))::BIGINT AS mean,
                 min(t) FILTER (upto > (total - 1) // 2) AS lo, min(t) FILTER (upto > total // 2) AS hi
               FROM w GROUP BY r, c)
             SELECT r, c, n FROM g
             UNION ALL SELECT r, c || '-media', mean FROM g
             UNION ALL SELECT r, c || '-mediana', (lo + hi) // 2 FROM g"""),
]

# Table 2 counts people, each at their earliest intervention (by start, then by row): computed
# once per report, as Percorsi does (arg_min over integer person ids was the fastest form tried;
# a window with QUALIFY took twice as long).
PEOPLE = """CREATE OR REPLACE TEMP TABLE p AS
  SELECT unnest(arg_min({'age': age, 'sex': sex, 'education': education, 'work': work}, (start_date, id)))
  FROM f GROUP BY person"""


def report(con):
    con.execute(PEOPLE)
    out = {}
    for number, grid, sql in TABLES:
        for row, col, value in con.execute(sql).fetchall():
            out[(number, grid, str(row), str(col))] = int(value)
    return out


def percorsi_cells(path):
    """The counted cells and durations of Percorsi's exact report (JSON from `percorsi report`)."""
    data = json.load(open(path, encoding="utf-8"))
    cells = {}
    for table in data["tables"]:
        for g, grid in enumerate(table["grids"]):
            cols = grid["columns"]
            for row in grid["rows"]:
                name = row["label"] if row["code"].startswith("org-") else row["code"]
                if row["role"] not in ("category", "missing", "fixed") and table["number"] != 15:
                    continue
                for col, cell in zip(cols, row["cells"]):
                    if col["role"] in ("total", "fixed", "difference") and table["number"] not in (14, 15):
                        continue
                    if cell.get("kind") in ("count", "months") and cell.get("value") is not None:
                        cells[(table["number"], g, name, col["code"])] = int(cell["value"])
    return cells


def check(ours, theirs):
    """Every cell of either side equals the other's (a cell absent on one side counts 0)."""
    differences = []
    for key in sorted(set(ours) | set(theirs), key=str):
        if ours.get(key, 0) != theirs.get(key, 0):
            differences.append((key, ours.get(key), theirs.get(key)))
    return differences


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("csv", help="the historical file (percorsi bench-reports --csv-out)")
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0, help="DuckDB threads (default: all cores)")
    ap.add_argument("--check", help="Percorsi's exact report as JSON, to compare cell by cell")
    a = ap.parse_args()
    con = duckdb.connect()
    if a.threads:
        con.execute(f"SET threads = {a.threads}")
    t = time.perf_counter()
    raw, classified = LOAD.split(";\nCREATE", 1)
    con.execute(raw, [a.csv])
    con.execute("CREATE" + classified)
    rows = con.execute("SELECT count(*) FROM f").fetchone()[0]
    print(f"DuckDB {duckdb.__version__}: loaded and classified {rows} interventions in "
          f"{time.perf_counter() - t:.1f} s")
    times = []
    cells = report(con)  # warm-up
    for _ in range(a.iterations):
        t = time.perf_counter()
        cells = report(con)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    print(f"| DuckDB, 15 tables | {statistics.median(times):.1f} | {p95:.1f} | {times[-1]:.1f} |")
    if a.check:
        differences = check(cells, percorsi_cells(a.check))
        compared = len(set(cells) | set(percorsi_cells(a.check)))
        if differences:
            for key, ours, theirs in differences[:20]:
                print(f"differs: table {key[0]} grid {key[1]} row {key[2]} column {key[3]}: "
                      f"DuckDB {ours}, Percorsi {theirs}")
            print(f"{len(differences)} of {compared} cells differ")
            return 1
        print(f"agreement: all {compared} cells equal to Percorsi's exact report")
    return 0


if __name__ == "__main__":
    sys.exit(main())
