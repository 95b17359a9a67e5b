//! pitwall-snowflake-client against a Snowflake emulator (fakesnow's server, see `support`):
//! login, DDL, PUT of a Parquet file to a stage, COPY INTO, reading the table back in
//! Arrow types, bindings, statement errors, an unreachable endpoint, close.

mod support;

use std::time::{Duration, Instant};

use arrow::array::AsArray;
use arrow::datatypes::{DataType, Int64Type, TimeUnit};
use pitwall_snowflake_client::{Auth, Binding, ConnectOptions, Error, Secret, Session};

fn options(endpoint: &str) -> ConnectOptions {
    let url = url::Url::parse(endpoint).unwrap();
    ConnectOptions {
        host: Some(url.host_str().unwrap().to_owned()),
        port: url.port(),
        protocol: Some(url.scheme().to_owned()),
        database: Some("PC_DBT_DB".into()),
        schema: Some("PRODUCTION".into()),
        ..ConnectOptions::new("pitwall", "pitwall_test", Auth::Password(Secret::new("not-a-real-password")))
    }
}

/// Three results in every type the delivery writes (`fixtures/make_results_parquet.py`):
/// the client moves the file without reading it.
fn parquet_file() -> bytes::Bytes {
    bytes::Bytes::from_static(include_bytes!("fixtures/results.parquet"))
}

#[tokio::test]
async fn login_put_copy_query_and_close_against_the_emulator() {
    let endpoint = support::endpoint();
    let session = Session::login(&options(endpoint)).await.expect("login");
    assert_eq!(session.endpoint(), endpoint);

    let table = format!("PC_DBT_DB.PRODUCTION.RESULTS_{}", std::process::id());
    for sql in [
        "create database if not exists PC_DBT_DB".to_owned(),
        "create schema if not exists PC_DBT_DB.PRODUCTION".to_owned(),
        format!(
            "create or replace table {table} (result_id int, driver varchar, points number(10,2), \
             race_date date, fastest_lap boolean, lap_seconds float, loaded_at timestamp_ntz)"
        ),
        "create or replace temporary stage PC_DBT_DB.PRODUCTION.PITWALL_STAGE".to_owned(),
    ] {
        session.query(&sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    session.put("@PC_DBT_DB.PRODUCTION.PITWALL_STAGE/results", "results.parquet", parquet_file()).await.expect("PUT");
    let copy = session
        .query(&format!(
            "copy into {table} from @PC_DBT_DB.PRODUCTION.PITWALL_STAGE/results/ \
             file_format=(type=parquet) match_by_column_name=case_insensitive purge=true"
        ))
        .await
        .expect("COPY INTO");
    assert_eq!(copy.rows_affected, Some(3), "rows_loaded of COPY INTO: {:?}", copy.batches);

    let result = session.query(&format!("select * from {table} order by result_id")).await.expect("select");
    assert!(!result.query_id.is_empty());
    assert_eq!(result.num_rows(), 3);
    let types: Vec<(&str, &DataType)> =
        result.schema.fields().iter().map(|f| (f.name().as_str(), f.data_type())).collect();
    assert_eq!(
        types,
        vec![
            ("RESULT_ID", &DataType::Int64),
            ("DRIVER", &DataType::Utf8),
            ("POINTS", &DataType::Decimal128(10, 2)),
            ("RACE_DATE", &DataType::Date32),
            ("FASTEST_LAP", &DataType::Boolean),
            ("LAP_SECONDS", &DataType::Float64),
            ("LOADED_AT", &DataType::Timestamp(TimeUnit::Nanosecond, None)),
        ]
    );
    assert_eq!(result.columns[2].type_name, "FIXED");
    assert_eq!((result.columns[2].precision, result.columns[2].scale), (Some(10), Some(2)));
    let batch = arrow::compute::concat_batches(&result.schema, &result.batches).unwrap();
    let text = arrow::util::pretty::pretty_format_batches(&[batch]).unwrap().to_string();
    assert_eq!(
        text,
        "\
+-----------+------------+--------+------------+-------------+-------------+----------------------------+
| RESULT_ID | DRIVER     | POINTS | RACE_DATE  | FASTEST_LAP | LAP_SECONDS | LOADED_AT                  |
+-----------+------------+--------+------------+-------------+-------------+----------------------------+
| 1         | Hamilton   | 25.00  | 2021-03-28 | true        | 92.5        | 2021-03-28T15:00:00.123456 |
| 2         | Verstappen | 18.50  | 2021-03-28 | false       | 93.25       |                            |
| 3         |            |        |            |             |             |                            |
+-----------+------------+--------+------------+-------------+-------------+----------------------------+"
    );

    let bound = session
        .query_with_bindings(
            &format!("select count(*) as n from {table} where driver = ? and result_id > ?"),
            &[Binding::Text("Hamilton".into()), Binding::Fixed(0)],
        )
        .await
        .expect("bindings");
    assert_eq!(bound.batches[0].column(0).as_primitive::<Int64Type>().value(0), 1);

    let error = session.query("select * from PC_DBT_DB.PRODUCTION.NO_SUCH_TABLE").await.unwrap_err();
    assert!(matches!(error, Error::Statement { .. }), "{error:?}");
    assert_eq!(error.code(), Some("002003"));
    assert_eq!(error.sql_state(), Some("42S02"));
    let message = error.to_string();
    assert!(message.contains(endpoint) && message.contains("NO_SUCH_TABLE"), "{message}");

    session.close().await.expect("close");
}

#[tokio::test]
async fn a_closed_port_fails_fast_naming_the_endpoint() {
    let endpoint = format!("http://127.0.0.1:{}", support::closed_port());
    let options = ConnectOptions { login_timeout: Duration::from_secs(2), ..options(&endpoint) };
    let started = Instant::now();
    let error = Session::login(&options).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    let message = error.to_string();
    assert!(matches!(error, Error::Network { .. }), "{error:?}");
    assert!(message.contains(&endpoint), "{message}");
    assert!(!message.contains("not-a-real-password"), "{message}");
}

#[tokio::test]
async fn a_stage_name_that_is_not_a_stage_is_refused_before_anything_is_sent() {
    let session = Session::login(&options(support::endpoint())).await.expect("login");
    let error = session.put("PC_DBT_DB.PRODUCTION.PITWALL_STAGE", "f.parquet", bytes::Bytes::new()).await.unwrap_err();
    assert!(error.to_string().contains("not a stage reference"), "{error}");
    let error = session.put("@S", "../f.parquet", bytes::Bytes::new()).await.unwrap_err();
    assert!(error.to_string().contains("not a plain file name"), "{error}");
    session.close().await.unwrap();
}
