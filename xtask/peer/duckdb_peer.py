"""A DuckDB peer of `cargo xtask bench`: the relational part of pitwall's build in DuckDB.

It loads the eight source CSVs of a data folder into tables (raw.sql, beside this script),
creates every SQL model as a table by running the model files of --models in name order
(one `create table ... as` each, in DAG order), then writes every table, raw ones
included, to Parquet under --out as <schema>/<table>.parquet, and reports the row count
of each table and its own times as JSON to --report. No ML: pitwall's Rust models have
no SQL to run.

The bench runs it for two peers, each with its own venv and SQL:
- DuckDB 1.5.6 (requirements.txt, target/venv-bench) on pitwall's own SQL: the models
  the harness writes from `pitwall compile`;
- DuckDB 2.0.0 (requirements-duckdb2.txt, target/venv-bench2) on SQL written the way a
  DuckDB user writes the workshop: idiomatic/models/.
In memory, with DuckDB's default settings (threads = the machine's cores).
"""

import argparse
import json
import pathlib
import time

STARTED = time.perf_counter()

import duckdb  # noqa: E402  (timed: importing it is part of the peer's start)

HERE = pathlib.Path(__file__).resolve().parent


def sql_string(text):
    return "'" + text.replace("'", "''") + "'"


def sql_ident(name):
    return '"' + name.replace('"', '""') + '"'


def refuse_doubled_sources(data):
    """Stops when a table has both <table>.csv and <table>.csv.gz: a `<table>.csv*`
    pattern would read it twice."""
    doubled = [plain.name for plain in data.glob("*.csv") if plain.with_name(plain.name + ".gz").exists()]
    if doubled:
        raise SystemExit(f"{data} has both a plain and a gzipped copy of {', '.join(sorted(doubled))}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=pathlib.Path, help="folder of the source CSVs")
    parser.add_argument("--models", required=True, type=pathlib.Path, help="folder of model .sql files")
    parser.add_argument("--out", required=True, type=pathlib.Path, help="folder to write Parquet into")
    parser.add_argument("--report", required=True, type=pathlib.Path, help="JSON file to write")
    args = parser.parse_args()

    refuse_doubled_sources(args.data)
    imported = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"set file_search_path = {sql_string(str(args.data.resolve()))}")
    con.execute((HERE / "raw.sql").read_text())
    models = sorted(args.models.glob("*.sql"))
    if not models:
        raise SystemExit(f"no model .sql files in {args.models}")
    for model in models:
        try:
            con.execute(model.read_text())
        except duckdb.Error as error:
            raise SystemExit(f"{model}: {error}") from error

    rows = {}
    tables = con.execute("select schema_name, table_name from duckdb_tables() order by all").fetchall()
    for schema, table in tables:
        relation = f"{sql_ident(schema)}.{sql_ident(table)}"
        rows[f"{schema}.{table}"] = con.execute(f"select count(*) from {relation}").fetchone()[0]
        folder = args.out / schema
        folder.mkdir(parents=True, exist_ok=True)
        target = sql_string(str(folder / f"{table}.parquet"))
        con.execute(f"copy {relation} to {target} (format parquet)")
    con.close()
    done = time.perf_counter()

    report = {
        "duckdb_version": duckdb.__version__,
        "startup_seconds": imported - STARTED,
        "in_process_seconds": done - imported,
        "tables": len(rows),
        "rows": rows,
    }
    args.report.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
