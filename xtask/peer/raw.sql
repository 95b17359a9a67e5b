-- Both peers' raw layer: the eight source CSVs read by DuckDB's read_csv into
-- schema raw, with the column types of crates/staging/models/formula1/f1_sources.yml
-- (NUMBER(38,0) as BIGINT, FLOAT as DOUBLE) and `\N` as NULL, as pitwall's loader reads
-- them. `<table>.csv*` matches the plain or the gzipped file; DuckDB decompresses by the
-- extension. duckdb_peer.py refuses a folder that holds both, which would read a table twice.
-- File names are relative: the script sets file_search_path to the data folder.

create schema raw;

create table raw.circuits as
from read_csv('circuits.csv*', header = true, nullstr = '\N', columns = {
    'circuitid': 'BIGINT', 'circuitref': 'VARCHAR', 'name': 'VARCHAR', 'location': 'VARCHAR',
    'country': 'VARCHAR', 'lat': 'DOUBLE', 'lng': 'DOUBLE', 'alt': 'BIGINT', 'url': 'VARCHAR'
});

create table raw.constructors as
from read_csv('constructors.csv*', header = true, nullstr = '\N', columns = {
    'constructorid': 'BIGINT', 'constructorref': 'VARCHAR', 'name': 'VARCHAR', 'nationality': 'VARCHAR',
    'url': 'VARCHAR'
});

create table raw.drivers as
from read_csv('drivers.csv*', header = true, nullstr = '\N', columns = {
    'driverid': 'BIGINT', 'driverref': 'VARCHAR', 'number': 'VARCHAR', 'code': 'VARCHAR',
    'forename': 'VARCHAR', 'surname': 'VARCHAR', 'dob': 'DATE', 'nationality': 'VARCHAR', 'url': 'VARCHAR'
});

create table raw.lap_times as
from read_csv('lap_times.csv*', header = true, nullstr = '\N', columns = {
    'raceid': 'BIGINT', 'driverid': 'BIGINT', 'lap': 'BIGINT', 'position': 'DOUBLE', 'time': 'VARCHAR',
    'milliseconds': 'BIGINT'
});

create table raw.pit_stops as
from read_csv('pit_stops.csv*', header = true, nullstr = '\N', columns = {
    'raceid': 'BIGINT', 'driverid': 'BIGINT', 'stop': 'BIGINT', 'lap': 'BIGINT', 'time': 'VARCHAR',
    'duration': 'VARCHAR', 'milliseconds': 'BIGINT'
});

create table raw.races as
from read_csv('races.csv*', header = true, nullstr = '\N', columns = {
    'raceid': 'BIGINT', 'year': 'BIGINT', 'round': 'BIGINT', 'circuitid': 'BIGINT', 'name': 'VARCHAR',
    'date': 'DATE', 'time': 'VARCHAR', 'url': 'VARCHAR',
    'fp1_date': 'VARCHAR', 'fp1_time': 'VARCHAR', 'fp2_date': 'VARCHAR', 'fp2_time': 'VARCHAR',
    'fp3_date': 'VARCHAR', 'fp3_time': 'VARCHAR', 'quali_date': 'VARCHAR', 'quali_time': 'VARCHAR',
    'sprint_date': 'VARCHAR', 'sprint_time': 'VARCHAR'
});

-- points is NUMBER(38,0) in the source but holds decimal text ("0.5"), which pitwall's
-- loader rounds half away from zero: so does round(); a plain ::bigint rounds to even.
create table raw.results as
select * replace (round(points)::bigint as points)
from read_csv('results.csv*', header = true, nullstr = '\N', columns = {
    'resultid': 'BIGINT', 'raceid': 'BIGINT', 'driverid': 'BIGINT', 'constructorid': 'BIGINT',
    'number': 'BIGINT', 'grid': 'BIGINT', 'position': 'DOUBLE', 'positiontext': 'VARCHAR',
    'positionorder': 'BIGINT', 'points': 'DOUBLE', 'laps': 'BIGINT', 'time': 'VARCHAR',
    'milliseconds': 'BIGINT', 'fastestlap': 'BIGINT', 'rank': 'BIGINT', 'fastestlaptime': 'VARCHAR',
    'fastestlapspeed': 'DOUBLE', 'statusid': 'BIGINT'
});

create table raw.status as
from read_csv('status.csv*', header = true, nullstr = '\N', columns = {
    'statusid': 'BIGINT', 'status': 'VARCHAR'
});
