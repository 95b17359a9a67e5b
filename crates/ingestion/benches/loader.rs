//! The CSV loader's throughput (`cargo bench -p ingestion`): the real lap_times and
//! results files loaded into Arrow as pitwall loads a source (read through object_store,
//! split, convert, settle), into a sink that keeps the batches in memory, reported in MB/s (10^6 bytes) of CSV text. The gzip case loads the
//! bundled `.csv.gz` itself, so it adds decompression to the same bytes of CSV.

use std::fs;
use std::hint::black_box;
use std::io::Read;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pitwall_core::{Location, MemorySink, Source};

/// The bundled real data (gzip CSVs).
fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/f1")
}

/// The formula1 source reduced to one table.
fn source_of(table: &str) -> Source {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let config = pitwall_core::ProjectConfig::load(&root, &Default::default()).expect("the checkout's pitwall.toml");
    let project =
        pitwall_project::load(config, &[], pitwall_project::Bindings::Available).expect("the checkout's project");
    let mut source = project.sources.into_iter().next().expect("the formula1 source").source;
    source.tables.retain(|t| t.name == table);
    assert_eq!(source.tables.len(), 1, "formula1 declares {table}");
    source
}

/// `table`'s CSV text, from the bundled gzip file.
fn csv_text(table: &str) -> Vec<u8> {
    let path = data_dir().join(format!("{table}.csv.gz"));
    let gzip = fs::File::open(&path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(gzip).read_to_end(&mut text).expect("a gzip file");
    text
}

fn loader(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let plain = tempfile::tempdir().expect("a temporary folder");
    let mut group = c.benchmark_group("load");
    group.sample_size(20);
    for table in ["lap_times", "results"] {
        let text = csv_text(table);
        fs::write(plain.path().join(format!("{table}.csv")), &text).expect("writing the CSV");
        let source = source_of(table);
        let mut cases = vec![(format!("{table}.csv"), Location::local(plain.path()))];
        if table == "lap_times" {
            cases.push((format!("{table}.csv.gz"), Location::local(data_dir())));
        }
        group.throughput(Throughput::BytesDecimal(text.len() as u64));
        for (name, location) in cases {
            group.bench_function(name, |b| {
                b.iter(|| {
                    let sink = MemorySink::default();
                    let report = runtime.block_on(ingestion::load_source(&source, &location, &sink)).expect("the load");
                    assert_eq!(report.tables[0].rejected, 0, "the real data loads whole");
                    black_box(sink.tables())
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, loader);
criterion_main!(benches);
