//! `pitwall docs generate` and `pitwall docs serve`: the site's embedded data (lineage
//! colours, doc blocks, chart data), that it loads nothing from elsewhere, what a real
//! browser (headless Chromium, `apt-get install chromium`) renders from it, that its
//! selector filter picks what `pitwall ls` picks, and the HTTP server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use crate::support::{Run, fixture, pitwall, pitwall_command, workspace};

/// The workshop's `node_color` per folder, and the site's fixed source colour.
const COLOURS: &[(&str, &str)] = &[
    ("stg_f1_races", "CadetBlue"),
    ("int_results", "MediumSlateBlue"),
    ("fct_results", "#800080"),
    ("pit_stops_joined", "#800080"),
    ("fastest_pit_stops_by_constructor", "Maroon"),
    ("lap_times_moving_avg", "Maroon"),
    ("ml_data_prep", "Indigo"),
    ("train_test_position", "#36454f"),
    ("predict_position", "#36454f"),
    ("formula1.races", "#3a7d44"),
];

/// The doc block `int_results`'s description comes from (crates/intermediate).
const INT_RESULTS_DOC: &str = "In this query we want to join out other important information about the race results";

/// Builds f1_tiny (all but training, which its data cannot feed) into `target`, then the docs.
fn tiny_site(target: &Path) -> String {
    tiny_build(target);
    generate(target)
}

fn tiny_build(target: &Path) {
    let source = fixture("f1_tiny");
    let build = pitwall(target, &["build", "--source", source.to_str().unwrap(), "--exclude", "ml.train_predict"]);
    assert!(build.ok(), "{}", build.all());
}

fn generate(target: &Path) -> String {
    let run = pitwall(target, &["docs", "generate"]);
    assert!(run.ok(), "{}", run.all());
    assert!(run.stdout.contains("Wrote the docs site"), "{}", run.stdout);
    std::fs::read_to_string(target.join("index.html")).unwrap()
}

/// The JSON embedded in the page.
fn site_data(html: &str) -> Value {
    let start = html.find(r#"<script type="application/json" id="pitwall-data">"#).expect("the data script");
    let body = &html[start..];
    let body = &body[body.find('>').unwrap() + 1..body.find("</script>").unwrap()];
    serde_json::from_str(body).unwrap()
}

fn node<'a>(data: &'a Value, name: &str) -> &'a Value {
    let nodes = data["nodes"].as_object().unwrap();
    nodes
        .values()
        .find(|n| n["name"] == name && n["resource_type"] != "test")
        .unwrap_or_else(|| panic!("no node {name}"))
}

/// `(data-name, fill)` of every lineage node (`<g class="node ...">`) in `html`.
fn graph_nodes(html: &str) -> Vec<(String, String)> {
    let attribute = |text: &str, name: &str| -> String {
        let from = text.find(&format!("{name}=\"")).unwrap_or_else(|| panic!("no {name} in {text}")) + name.len() + 2;
        text[from..from + text[from..].find('"').unwrap()].to_owned()
    };
    html.split("<g class=\"node")
        .skip(1)
        // `<g class="nodes">` holds them; `node"` and `node dim"` are they.
        .filter(|g| g.starts_with(['"', ' ']))
        .map(|g| {
            let g = &g[..g.find("</g>").unwrap()];
            (attribute(g, "data-name"), attribute(g, "fill"))
        })
        .collect()
}

fn assert_workshop_colours(nodes: &[(String, String)]) {
    assert_eq!(nodes.len(), 29, "8 sources and 21 models: {nodes:?}");
    for (name, colour) in COLOURS {
        let fill = nodes.iter().find(|(n, _)| n == name).map(|(_, f)| f.as_str());
        assert_eq!(fill, Some(*colour), "{name}");
    }
}

#[test]
fn the_site_carries_lineage_in_the_workshops_colours_doc_blocks_and_runs() {
    let target = tempfile::tempdir().unwrap();
    let html = tiny_site(target.path());
    let data = site_data(&html);
    let drawn: Vec<&Value> =
        data["nodes"].as_object().unwrap().values().filter(|n| n["resource_type"] != "test").collect();
    assert_eq!(drawn.len(), 29);
    for (name, colour) in COLOURS {
        assert_eq!(node(&data, name)["color"], *colour, "{name}");
    }
    assert_workshop_colours(&graph_nodes(&html));
    let int_results = node(&data, "int_results");
    assert!(int_results["description"].as_str().unwrap().starts_with(INT_RESULTS_DOC), "{int_results}");
    assert!(int_results["description_html"].as_str().unwrap().starts_with(&format!("<p>{INT_RESULTS_DOC}")));
    assert_eq!(int_results["materialized"], "view");
    assert_eq!(int_results["run"]["status"], "success", "{}", int_results["run"]);
    // Column types come from the catalog; column lineage from the plans.
    let columns = int_results["columns"].as_array().unwrap();
    let driver = columns.iter().find(|c| c["name"] == "driver").unwrap();
    assert_eq!(driver["type"], "VARCHAR", "{driver}");
    let upstream: Vec<&str> =
        driver["upstream"].as_array().unwrap().iter().map(|u| u["column"].as_str().unwrap()).collect();
    assert_eq!(upstream, ["forename", "surname"], "{driver}");
    let fastest = node(&data, "fastest_pit_stops_by_constructor");
    let constructor = fastest["columns"].as_array().unwrap().iter().find(|c| c["name"] == "constructor_name").unwrap();
    assert_eq!(constructor["tests"][0], "unique_fastest_pit_stops_by_constructor_constructor_name", "{constructor}");
    assert_eq!(data["run"]["counts"]["success"], 19, "{}", data["run"]);
    assert_eq!(data["run"]["counts"]["pass"], 17, "{}", data["run"]);
    assert!(target.path().join("catalog.json").is_file() && target.path().join("manifest.json").is_file());
    // f1_tiny has 2021 pit stops but no trained model.
    assert_eq!(data["charts"]["pit_stops"]["status"], "ok", "{}", data["charts"]["pit_stops"]);
    assert_eq!(data["charts"]["ml"]["status"], "missing");
    assert!(html.contains("Not drawn: no trained model in the model stage"), "the ML chart says why it is missing");
    assert_self_contained(&html);
}

/// `unique_id`'s result in the `run_results.json` under `target`.
fn run_result(target: &Path, unique_id: &str) -> Value {
    let results: Value = serde_json::from_slice(&std::fs::read(target.join("run_results.json")).unwrap()).unwrap();
    let found = results["results"].as_array().unwrap().iter().find(|r| r["unique_id"] == unique_id);
    found.unwrap_or_else(|| panic!("no result for {unique_id}")).clone()
}

fn rfc3339(value: &Value) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap_or_else(|| panic!("not a time: {value}"))).unwrap()
}

#[test]
fn a_node_the_last_build_reused_shows_as_reused_with_the_time_it_was_built() {
    let target = tempfile::tempdir().unwrap();
    let (model, test) = (
        "model.pitwall.fastest_pit_stops_by_constructor",
        "test.pitwall.unique_fastest_pit_stops_by_constructor_constructor_name",
    );
    tiny_build(target.path());
    let first = run_result(target.path(), model)["adapter_response"]["built_at"].clone();
    // Nothing changed, so the second build reuses every model and test.
    tiny_build(target.path());
    let second = run_result(target.path(), model);
    let data = site_data(&generate(target.path()));
    let run = &data["nodes"][model]["run"];
    assert_eq!((&run["status"], &run["built_at"]), (&second["status"], &second["adapter_response"]["built_at"]));
    assert_eq!(run["status"], "reused");
    // The time the first build stored with the table: its built_at to within the writing.
    let built = rfc3339(&run["built_at"]);
    assert!((built - rfc3339(&first)).num_milliseconds().abs() < 1000, "{built} vs {first}");
    assert!(built < rfc3339(&second["timing"][0]["started_at"]), "{second}");
    assert_eq!(data["run"]["by_type"], serde_json::json!({"model": {"reused": 19}, "test": {"reused": 17}}));

    let index = target.path().join("index.html");
    let dom = dump_dom(&file_url(&index, "#/model/fastest_pit_stops_by_constructor"));
    let page = &dom[dom.find(r#"<section id="page""#).unwrap()..dom.find(r#"<section id="graph-view""#).unwrap()];
    let time = |at: &Value| format!(r#"<time class="built-at" datetime="{}">"#, at.as_str().unwrap());
    assert!(page.contains(r#"<dt>Last run</dt><dd><span class="status-reused">reused</span>"#), "{page}");
    assert!(page.contains(&format!("<dt>Built</dt><dd>{}", time(&run["built_at"]))), "{page}");
    let test_run = &data["nodes"][test]["run"];
    assert_eq!(test_run["status"], "reused");
    let test_name = test.strip_prefix("test.pitwall.").unwrap();
    let listed = format!(r##"<span class="status-reused">reused</span> <a href="#/test/{test_name}""##);
    assert!(page.contains(&listed) && page.contains(&format!("passed {}", time(&test_run["built_at"]))), "{page}");

    let dom = dump_dom(&file_url(&index, ""));
    assert!(dom.contains(r#"data-status="reused">reused: 36</li>"#), "the last run's statuses");
    let models =
        r#"<li data-type="model">models: <span class="status-reused" data-status="reused">19 reused</span></li>"#;
    assert!(dom.contains(models), "the overview counts the reused models");
}

/// Nothing in the page loads from elsewhere: no external resource, no request from the
/// script. (The embedded JSON is data, checked apart: it could quote a URL as text.)
fn assert_self_contained(html: &str) {
    let start = html.find(r#"<script type="application/json""#).unwrap();
    let end = start + html[start..].find("</script>").unwrap();
    let page = format!("{}{}", &html[..start], &html[end..]);
    for forbidden in ["http://", "https://", "<link", "src=", "@import", "fetch(", "XMLHttpRequest", "import("] {
        assert!(!page.contains(forbidden), "the page contains '{forbidden}'");
    }
    assert!(!html[start..end].contains("http://") && !html[start..end].contains("https://"), "a URL in the data");
}

#[test]
fn without_a_build_the_charts_say_what_to_build() {
    let target = tempfile::tempdir().unwrap();
    let html = generate(target.path());
    let data = site_data(&html);
    assert_eq!(data["run"], Value::Null);
    for chart in ["pit_stops", "lap_times", "ml"] {
        assert_eq!(data["charts"][chart]["status"], "missing", "{chart}");
    }
    assert!(
        html.contains("fastest_pit_stops_by_constructor is not in the warehouse")
            && html.contains("pitwall build --select +fastest_pit_stops_by_constructor"),
        "the pit stop chart says what to build"
    );
    assert_workshop_colours(&graph_nodes(&html));
    assert!(!html.contains(r#"<g class="folder""#), "the workshop's graph is drawn unfolded");
    assert_self_contained(&html);
}

/// Headless Chromium, or a failure saying how to install it: the browser test is part of
/// the suite, never skipped.
fn chromium() -> PathBuf {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].into_iter().map(PathBuf::from).find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!(
            "headless Chromium is needed for the docs site's browser test and was not found: install it with \
             `apt-get install -y chromium` (Debian; .ci/run does this)"
        )
    })
}

/// The DOM of `url` after its scripts ran, as headless Chromium serialises it.
fn dump_dom(url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--dump-dom",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && dom.contains("</html>"),
        "chromium failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        dom.contains(r#"data-ready="true""#),
        "the page's script did not finish:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    dom
}

fn file_url(path: &Path, fragment: &str) -> String {
    format!("file://{}{fragment}", path.display())
}

#[test]
fn chromium_renders_the_real_datas_site() {
    let started = Instant::now();
    let target = tempfile::tempdir().unwrap();
    // The real data, so the charts have the workshop's values (and a trained model).
    let build = pitwall(target.path(), &["build"]);
    assert!(build.ok(), "{}", build.all());
    let html = generate(target.path());
    let data = site_data(&html);
    let stops = data["charts"]["pit_stops"]["data"].as_array().unwrap();
    assert_eq!(stops.len(), 10, "ten constructors raced in 2021");
    assert_eq!(stops[0]["constructor"], "Red Bull", "the fastest mean first");
    assert_eq!(html.matches(r#"<rect class="box""#).count(), 10);
    assert_eq!(html.matches(r#"class="point lap-time""#).count(), 27, "27 seasons of lap times");
    assert_eq!(html.matches(r#"class="point moving-avg""#).count(), 23, "a 5-year average from the fifth season on");
    assert_eq!(html.matches(r#"<rect class="cell""#).count(), 18, "two 3x3 confusion matrices");
    assert_eq!(html.matches(r#"<rect class="metric-bar"#).count(), 18, "3 metrics of 3 classes, twice");
    let index = target.path().join("index.html");
    let built = started.elapsed();

    let dom = dump_dom(&file_url(&index, "#/model/int_results"));
    assert_workshop_colours(&graph_nodes(&dom));
    let page = &dom[dom.find(r#"<section id="page""#).unwrap()..dom.find(r#"<section id="graph-view""#).unwrap()];
    assert!(page.contains(r#"data-route="model.pitwall.int_results""#), "{page}");
    assert!(page.contains(INT_RESULTS_DOC), "the doc block is on the int_results page: {page}");
    assert!(page.contains(r##"class="mini-node current" data-href="#/model/int_results""##), "{page}");
    assert_eq!(dom.matches(r#"<rect class="box" data-constructor="#).count(), 10);
    assert!(dom.contains(r#"<rect class="box" data-constructor="Red Bull""#));
    assert_eq!(dom.matches(r#"class="point lap-time""#).count(), 27, "the browser shows every season");

    let dom = dump_dom(&file_url(&index, "#/graph?select=%2Bfct_results"));
    let dimmed = graph_nodes(&dom).len() - dom.matches(r#"<g class="node" "#).count();
    assert_eq!(dom.matches(r#"<g class="node dim""#).count(), dimmed);
    assert_eq!(dimmed, 29 - 17, "+fct_results is 8 sources and 9 models");
    assert!(dom.contains("17 of 29 nodes match"));

    let dom = dump_dom(&file_url(&index, ""));
    assert!(dom.contains(r#"<div class="stat" id="count-models"><span class="num">21</span>"#), "overview counts");
    assert!(dom.contains(r#"data-status="success">success: 21</li>"#), "the last run's statuses");
    browse_deep_links_search_zoom_and_statuses(&index);
    screenshot_of_the_graph_is_drawn(&index);
    eprintln!("chromium test: build and generate {built:.1?}, browser runs {:.1?}", started.elapsed() - built);
}

/// Headless Chromium's screenshot of the lineage page: a PNG of the window's size, and
/// not a blank page (one compresses to about 6 KB here; the drawn graph to over 100 KB).
fn screenshot_of_the_graph_is_drawn(index: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("graph.png");
    let output = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"])
        .args(["--window-size=1400,800", "--virtual-time-budget=10000"])
        .arg(format!("--user-data-dir={}", dir.path().join("profile").display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(file_url(index, "#/graph"))
        .output()
        .expect("chromium runs");
    let bytes = std::fs::read(&png)
        .unwrap_or_else(|e| panic!("no screenshot ({e}):\n{}", String::from_utf8_lossy(&output.stderr)));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be32 = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!((be32(16), be32(20)), (1400, 800), "the IHDR's width and height");
    assert!(bytes.len() > 40_000, "the screenshot looks blank: {} bytes", bytes.len());
}

/// The built site in the browser: a dbt-style deep link opens its node, search finds a
/// column and a word only the SQL holds, the graph zooms from its link, and every built
/// model carries its last status.
fn browse_deep_links_search_zoom_and_statuses(index: &Path) {
    let page = |dom: &str| {
        dom[dom.find(r#"<section id="page""#).unwrap()..dom.find(r#"<section id="graph-view""#).unwrap()].to_owned()
    };
    let dom = dump_dom(&file_url(index, "#model.fct_results"));
    assert!(page(&dom).contains(r#"data-route="model.pitwall.fct_results""#), "{}", page(&dom));

    let dom = dump_dom(&file_url(index, "#/search?q=position_order"));
    let found = page(&dom);
    assert!(found.contains(r#"<li data-uid="model.pitwall.fct_results">"#), "{found}");
    assert!(found.contains("column position_order"), "{found}");
    // A CTE name of ml_data_prep: in its SQL only.
    let dom = dump_dom(&file_url(index, "#/search?q=constructor_renames"));
    let found = page(&dom);
    assert!(
        found.contains(r#"<li data-uid="model.pitwall.ml_data_prep">"#) && found.contains(": SQL</span>"),
        "{found}"
    );
    assert!(found.contains(r#"<p class="muted" id="search-summary">1 node mention"#), "{found}");

    let dom = dump_dom(&file_url(index, "#/graph?zoom=2"));
    let svg = &dom[dom.find(r#"<svg class="lineage""#).unwrap()..dom.find("</svg>").unwrap()];
    assert!(svg.contains(r#"data-zoom="2.00""#), "{}", &svg[..300.min(svg.len())]);
    assert_eq!(svg.matches(r#"data-status="success""#).count(), 21, "every model drawn with its status");
}

/// Selectors the site's filter must evaluate as `pitwall ls` does.
const SELECTORS: &[&str] = &[
    "fct_results",
    "+fct_results",
    "fct_results+",
    "+int_results+",
    "2+fct_results",
    "int_results+1",
    "1+predict_position",
    "@lap_times_moving_avg",
    "tag:bi",
    "tag:train",
    "source:formula1",
    "source:formula1.races+",
    "formula1.races",
    "marts.core",
    "staging",
    "ml.prep",
    "intermediate marts.aggregates",
    "config.materialized:table",
    "config.materialized:view,intermediate",
    "config.tags:bi",
    "config.severity:warn",
    "config.meta.standardize:true",
    "config.rust_model:train_test_position+",
    "+lap_times_moving_avg,staging",
    "stg_f1_*",
    "*pit_stops*",
    "path:crates/marts",
    "resource_type:source",
    "fqn:marts.core",
];

#[test]
fn the_graph_filter_selects_what_pitwall_ls_selects() {
    let target = tempfile::tempdir().unwrap();
    let html = generate(target.path());
    // The page with a script that evaluates every selector with the site's own function.
    let probe = format!(
        "<script>const out = {{}}; for (const s of {}) {{ try {{ out[s] = window.pitwall.select(s); }} \
         catch (e) {{ out[s] = 'error: ' + e.message; }} }} const pre = document.createElement('pre'); \
         pre.id = 'probe'; pre.textContent = JSON.stringify(out); document.body.appendChild(pre);</script></body>",
        serde_json::to_string(SELECTORS).unwrap()
    );
    let probe_page = target.path().join("probe.html");
    std::fs::write(&probe_page, html.replacen("</body>", &probe, 1)).unwrap();
    let dom = dump_dom(&file_url(&probe_page, ""));
    let text = &dom[dom.find(r#"<pre id="probe">"#).unwrap() + 16..];
    let text = text[..text.find("</pre>").unwrap()].replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
    let picked: Value = serde_json::from_str(&text).unwrap();
    for selector in SELECTORS {
        let ls =
            pitwall(target.path(), &["ls", "-s", selector, "--resource-type", "model", "source", "--output", "name"]);
        assert!(ls.ok(), "{}", ls.all());
        let expected: Vec<&str> = ls.stdout.lines().collect();
        let got: Vec<&str> = picked[selector]
            .as_array()
            .unwrap_or_else(|| panic!("{selector}: {}", picked[selector]))
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(got, expected, "selector '{selector}'");
    }
}

#[test]
fn docs_serve_answers_with_the_site_and_nothing_outside_it() {
    let target = tempfile::tempdir().unwrap();
    let refused = pitwall(target.path(), &["docs", "serve", "--port", "0"]);
    assert!(!refused.ok() && refused.stderr.contains("pitwall docs generate"), "{}", refused.all());
    generate(target.path());
    let mut server = pitwall_command()
        .current_dir(workspace())
        .env("PITWALL_TARGET_PATH", target.path())
        .args(["docs", "serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let result = std::panic::catch_unwind(|| {
        let address =
            line.split("http://").nth(1).and_then(|rest| rest.split('/').next()).unwrap_or_else(|| panic!("{line}"));
        let index = get(address, "/");
        assert!(index.starts_with("HTTP/1.1 200 OK\r\n"), "{}", &index[..index.len().min(200)]);
        assert!(index.contains("Content-Type: text/html") && index.contains(r#"id="pitwall-data""#));
        assert!(get(address, "/catalog.json").contains("Content-Type: application/json"));
        assert!(get(address, "/nothing.html").starts_with("HTTP/1.1 404"));
        assert!(get(address, "/../pitwall.toml").starts_with("HTTP/1.1 400"));
        assert!(get(address, "/%2e%2e/pitwall.toml").starts_with("HTTP/1.1 400"));
    });
    // Ours to stop: the server runs until killed, as Ctrl-C stops it.
    server.kill().unwrap();
    server.wait().unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// A plain HTTP/1.1 GET: the whole response, head and body.
fn get(address: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

/// The folders of the generated big project, upstream first: how many models each holds
/// (1,000 in all) and the folders its models read (none: the source's tables).
const BIG_FOLDERS: &[(&str, usize, &[&str])] = &[
    ("staging/alpha", 120, &[]),
    ("staging/beta", 120, &[]),
    ("intermediate/orders", 140, &["staging/alpha", "staging/beta"]),
    ("intermediate/people", 120, &["staging/beta"]),
    ("marts/core", 150, &["intermediate/orders", "intermediate/people"]),
    ("marts/finance", 120, &["intermediate/orders", "marts/core"]),
    ("marts/ops", 130, &["intermediate/people"]),
    ("reports", 100, &["marts/core", "marts/finance", "marts/ops"]),
];

/// A project of 1,000 SQL models (`m0000`...) in [`BIG_FOLDERS`], on one source of four
/// tables: each model reads a table or a model of a folder upstream, and every third
/// one also its neighbour in its own folder (so a folder has layers of its own).
/// `docs generate` needs no build of it.
fn write_big_project(root: &Path) {
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "pitwall.toml",
        "[project]\nname = \"big\"\ndefault-target = \"dev\"\n\n[targets.dev]\nschema = \"analytics\"\n\n\
         [sources.raw]\nlocation = \"data\"\nschema = \"raw\"\n",
    );
    let columns =
        "        columns:\n          - {name: id, data_type: INTEGER}\n          - {name: v, data_type: INTEGER}\n";
    let tables: String = (0..4).map(|t| format!("      - name: t{t}\n{columns}")).collect();
    write("models/staging/sources.yml", &format!("version: 2\nsources:\n  - name: raw\n    tables:\n{tables}"));
    let mut ranges: Vec<(&str, std::ops::Range<usize>)> = Vec::new();
    for (folder, count, upstream) in BIG_FOLDERS {
        let first = ranges.last().map_or(0, |(_, r)| r.end);
        let own = first..first + count;
        for i in own.clone() {
            let from = match upstream.get(i % upstream.len().max(1)) {
                None => format!("{{{{ source('raw', 't{}') }}}}", i % 4),
                Some(up) => {
                    let read = &ranges.iter().find(|(f, _)| f == up).unwrap().1;
                    format!("{{{{ ref('m{:04}') }}}}", read.start + i * 7 % read.len())
                }
            };
            let sql = match i % 3 == 0 && i > own.start {
                true => format!(
                    "select a.id, a.v + b.v as v\nfrom {from} a\njoin {{{{ ref('m{:04}') }}}} b on a.id = b.id\n",
                    i - 1
                ),
                false => format!("select id, v\nfrom {from}\n"),
            };
            write(&format!("models/{folder}/m{i:04}.sql"), &sql);
        }
        ranges.push((folder, own));
    }
}

/// What headless Chromium shows of the lineage graph after `body` (JS) ran in the page at
/// `fragment`, once the site's script has: `body` has `snapshot()` (the graph as shown)
/// and `click(selector)`, and hands its result to `done(value)`.
fn probe_graph(index: &Path, fragment: &str, body: &str) -> Value {
    const HELPERS: &str = r#"
      // Drawn: Chromium's checkVisibility() passes SVG elements under a `display: none` <g>,
      // which have no box, though.
      const shown = (e) => e.checkVisibility() && (e.getBoundingClientRect().width > 0 || e.getBoundingClientRect().height > 0);
      const visible = (selector) => [...document.querySelectorAll(selector)].filter(shown);
      const boxes = () => visible('svg.lineage .folder-node rect, svg.lineage .folder-frame').map((r) => r.getBoundingClientRect());
      const overlap = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
      const snapshot = () => ({
        route: document.getElementById('page').dataset.route || null,
        open: [...document.querySelectorAll('svg.lineage g.folder.open')].map((f) => f.dataset.folder),
        folders: visible('svg.lineage .folder-node').map((g) => g.closest('g.folder').dataset.folder),
        nodes: visible('svg.lineage g.node').map((g) => g.dataset.name),
        edges: visible('svg.lineage path.edge').length,
        overlaps: boxes().filter((a, i, all) => all.slice(i + 1).some((b) => overlap(a, b))).length,
        focus: document.querySelector('svg.lineage g.node.focus')?.dataset.name ?? null,
        focus_in_view: (() => {
          const node = document.querySelector('svg.lineage g.node.focus');
          if (!node || !shown(node)) return false;
          const [n, svg] = [node.getBoundingClientRect(), document.querySelector('svg.lineage').getBoundingClientRect()];
          return n.left >= svg.left && n.right <= svg.right && n.top >= svg.top && n.bottom <= svg.bottom;
        })(),
      });
      const click = (selector) => document.querySelector(selector).dispatchEvent(new MouseEvent('click', { bubbles: true }));
      const done = (value) => {
        const pre = document.createElement('pre');
        pre.id = 'probe';
        pre.textContent = JSON.stringify(value);
        document.body.appendChild(pre);
      };"#;
    let html = std::fs::read_to_string(index).unwrap();
    let probe = format!("<script>(function () {{ {HELPERS}\n{body}\n}})();</script></body>");
    let page = index.with_file_name("probe.html");
    std::fs::write(&page, html.replacen("</body>", &probe, 1)).unwrap();
    let dom = dump_dom(&file_url(&page, fragment));
    let text = &dom[dom.find(r#"<pre id="probe">"#).unwrap_or_else(|| panic!("no probe result")) + 16..];
    let text = text[..text.find("</pre>").unwrap()].replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
    serde_json::from_str(&text).unwrap()
}

fn strings(value: &Value) -> Vec<&str> {
    value.as_array().unwrap_or_else(|| panic!("not a list: {value}")).iter().map(|v| v.as_str().unwrap()).collect()
}

#[test]
fn a_1000_model_graph_starts_folded_and_a_click_a_deep_link_or_a_search_unfolds_a_folder() {
    let started = Instant::now();
    let project = tempfile::tempdir().unwrap();
    write_big_project(project.path());
    let run = Run::from(pitwall_command().current_dir(project.path()).args(["docs", "generate"]).output().unwrap());
    assert!(run.ok(), "{}", run.all());
    let index = project.path().join("target/index.html");
    let html = std::fs::read_to_string(&index).unwrap();
    // Every node is in the page, in its folder's hidden picture: 8 model folders and the source's.
    assert_eq!(graph_nodes(&html).len(), 1004);
    assert_eq!(html.matches(r#"<g class="folder" "#).count(), 9);
    let generated = started.elapsed();

    let initial = probe_graph(
        &index,
        "#/graph",
        "const folded = snapshot(); click('g.folder[data-folder=\"marts/core\"] .folder-node'); \
         const opened = snapshot(); click('g.folder[data-folder=\"marts/core\"] .folder-head'); \
         done({ folded, opened, refolded: snapshot() });",
    );
    let folded = &initial["folded"];
    assert_eq!(strings(&folded["folders"]).len(), 9, "{folded}");
    assert!(strings(&folded["nodes"]).is_empty() && strings(&folded["open"]).is_empty(), "{folded}");
    assert_eq!(folded["edges"], 13, "one edge per pair of folders: {folded}");
    let opened = &initial["opened"];
    assert_eq!(strings(&opened["open"]), ["marts/core"]);
    assert_eq!(strings(&opened["nodes"]).len(), 150, "{opened}");
    assert!(strings(&opened["nodes"]).contains(&"m0567") && strings(&opened["folders"]).len() == 8, "{opened}");
    assert_eq!(opened["overlaps"], 0, "the open folder pushed the others aside: {opened}");
    assert_eq!(initial["refolded"], *folded, "folding it again restores the folded graph");

    // A deep link opens the model's page and its folder, so the graph shows it, in view.
    let deep = probe_graph(
        &index,
        "#model.m0567",
        "const page = snapshot(); \
         window.addEventListener('hashchange', () => done({ page, graph: snapshot() })); \
         location.hash = '#/graph';",
    );
    assert_eq!(deep["page"]["route"], "model.big.m0567", "{deep}");
    assert_eq!(strings(&deep["page"]["open"]), ["marts/core"], "{deep}");
    let graph = &deep["graph"];
    assert!(strings(&graph["nodes"]).contains(&"m0567") && strings(&graph["nodes"]).len() == 150, "{graph}");
    assert_eq!(
        (&graph["focus"], &graph["focus_in_view"], &graph["overlaps"]),
        (&"m0567".into(), &true.into(), &0.into())
    );

    // A search's hits are shown in the graph through the filter, which opens their folders.
    let searched = probe_graph(
        &index,
        "#/search?q=m0700",
        "window.addEventListener('hashchange', () => done(snapshot())); \
         location.hash = document.getElementById('search-in-graph').getAttribute('href');",
    );
    assert!(strings(&searched["open"]).contains(&"marts/finance"), "{searched}");
    assert!(strings(&searched["nodes"]).contains(&"m0700"), "{searched}");
    eprintln!("1,000-model docs: generate {generated:.1?}, browser runs {:.1?}", started.elapsed() - generated);
}
