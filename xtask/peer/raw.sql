-- The DuckDB peer's raw layer: the eight source CSVs as tables in schema raw, with the
-- column types of crates/ingestion/sources/f1_sources.yml (NUMBER(38,0) as BIGINT, FLOAT
-- as DOUBLE) and the source's format: a header line, `\N` as NULL, double quotes.
-- File names are relative: the peer sets file_search_path to the data folder.
-- results.points holds decimal text ("0.5"), which pitwall rounds half away from zero into
-- its integer column; DuckDB's round() does the same (a plain cast would round to even).

create schema raw;

create table raw.circuits as
select * from read_csv('circuits.csv', header = true, nullstr = '\N', quote = '"', escape = '"', columns = {
    'circuitid': 'BIGINT', 'circuitref': 'VARCHAR', 'name': 'VARCHAR', 'location': 'VARCHAR',
    'country': 'VARCHAR', 'lat': 'DOUBLE', 'lng': 'DOUBLE', 'alt': 'BIGINT', 'url': 'VARCHAR'
});

create table raw.constructors as
select * from read_csv('constructors.csv', header = true, nullstr = '\N', quote = '"', escape = '"', columns = {
    'constructorid': 'BIGINT', 'constructorref': 'VARCHAR', 'name': 'VARCHAR', 'nationality': 'VARCHAR',
    'url': 'VARCHAR'
});

create table raw.drivers as
select * from read_csv('drivers.csv', header = true, nullstr = '\N', quote = '"', escape = '"', columns = {
    'driverid': 'BIGINT', 'driverref': 'VARCHAR', 'number': 'VARCHAR', 'code': 'VARCHAR',
    'forename': 'VARCHAR', 'surname': 'VARCHAR', 'dob': 'DATE', 'nationality': 'VARCHAR', 'url': 'VARCHAR'
});

create table raw.lap_times as
select * from read_csv('lap_times.csv', header = true, nullstr = '\N', quote = '"', escape = '"', columns = {
    'raceid': 'BIGINT', 'driverid': 'BIGINT', 'lap': 'BIGINT', 'position': 'DOUBLE', 'time': 'VARCHAR',
    'milliseconds': 'BIGINT'
});

create table raw.pit_stops as
select * from read_csv('pit_stops.csv', header = true, nullstr = '\N', quote = '"', escape = '"', columns = {
    'raceid': 'BIGINT', 'driverid': 'BIGINT', 'stop': 'BIGINT', 'lap': 'BIGINT', 'time': 'VARCHAR',
    'duration': 'VARCHAR', 'milliseconds': 'BIGINT'
});

create table raw.races as
select * from read_csv('races.csv', header = true, nullstr = '\N', quote = '"', escape = '"', columns = {
    'raceid': 'BIGINT', 'year': 'BIGINT', 'round': 'BIGINT', 'circuitid': 'BIGINT', 'name': 'VARCHAR',
    'date': 'DATE', 'time': 'VARCHAR', 'url': 'VARCHAR',
    'fp1_date': 'VARCHAR', 'fp1_time': 'VARCHAR', 'fp2_date': 'VARCHAR', 'fp2_time': 'VARCHAR',
    'fp3_date': 'VARCHAR', 'fp3_time': 'VARCHAR', 'quali_date': 'VARCHAR', 'quali_time': 'VARCHAR',
    'sprint_date': 'VARCHAR', 'sprint_time': 'VARCHAR'
});

create table raw.results as
select * replace (cast(round(points) as bigint) as points)
from read_csv('results.csv', header = true, nullstr = '\N', quote = '"', escape = '"', columns = {
    'resultid': 'BIGINT', 'raceid': 'BIGINT', 'driverid': 'BIGINT', 'constructorid': 'BIGINT',
    'number': 'BIGINT', 'grid': 'BIGINT', 'position': 'DOUBLE', 'positiontext': 'VARCHAR',
    'positionorder': 'BIGINT', 'points': 'DOUBLE', 'laps': 'BIGINT', 'time': 'VARCHAR',
    'milliseconds': 'BIGINT', 'fastestlap': 'BIGINT', 'rank': 'BIGINT', 'fastestlaptime': 'VARCHAR',
    'fastestlapspeed': 'DOUBLE', 'statusid': 'BIGINT'
});

create table raw.status as
select * from read_csv('status.csv', header = true, nullstr = '\N', quote = '"', escape = '"', columns = {
    'statusid': 'BIGINT', 'status': 'VARCHAR'
});
