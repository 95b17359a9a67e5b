//! `pitwall cluster status`: what the scheduler's REST API says of its executors and
//! jobs, as a table.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// An executor as the scheduler's `/api/executors` lists it.
#[derive(Debug, Deserialize)]
pub(crate) struct Executor {
    pub(crate) id: String,
    pub(crate) host: String,
    /// Its Flight port, where tasks fetch shuffle output from it.
    pub(crate) port: u16,
    /// The last heartbeat, in milliseconds since the Unix epoch.
    last_seen: Option<u128>,
    specification: Specification,
}

impl Executor {
    /// Where it serves its data, as other machines reach it.
    pub(crate) fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

#[derive(Debug, Deserialize)]
struct Specification {
    vcores: u32,
}

/// `GET base + path` on the scheduler's REST API (`base` is `http://HOST:PORT`), its
/// JSON answer read as `T`.
pub(crate) async fn get_json<T: DeserializeOwned>(client: &reqwest::Client, base: &str, path: &str) -> Result<T> {
    let url = format!("{base}{path}");
    let answer = client.get(&url).send().await?.error_for_status()?.text().await?;
    serde_json::from_str(&answer).with_context(|| format!("the scheduler's answer to GET {url}"))
}

/// The executors the scheduler at `base` (`http://HOST:PORT`) has registered and not yet
/// given up on.
pub(crate) async fn executors(client: &reqwest::Client, base: &str) -> Result<Vec<Executor>> {
    get_json(client, base, "/api/executors").await
}

/// Prints the executors registered with the scheduler at `address` (HOST:PORT), their
/// task slots and when each was last heard from, then the scheduler's jobs by status.
pub(crate) async fn print(address: &str) -> Result<()> {
    let base = format!("http://{}", address.trim_start_matches("df://").trim_end_matches('/'));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let unanswered =
        || format!("the Ballista scheduler at {address} does not answer (is `pitwall cluster scheduler` running?)");
    let executors = executors(&client, &base).await.with_context(unanswered)?;
    let jobs: serde_json::Value = get_json(&client, &base, "/api/jobs").await.with_context(unanswered)?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis();
    print!("{}", render(address, &executors, &jobs, now));
    Ok(())
}

fn render(address: &str, executors: &[Executor], jobs: &serde_json::Value, now_ms: u128) -> String {
    let slots: u32 = executors.iter().map(|e| e.specification.vcores).sum();
    let mut out = format!("scheduler {address}: {} executor(s), {slots} task slot(s)\n", executors.len());
    for e in executors {
        let seen = e
            .last_seen
            .map_or("never".to_owned(), |ms| format!("{:.1}s ago", now_ms.saturating_sub(ms) as f64 / 1000.0));
        let _ = writeln!(out, "  {}  {}:{}  slots {}  last seen {seen}", e.id, e.host, e.port, e.specification.vcores);
    }
    let _ = writeln!(out, "jobs: {}", job_counts(jobs));
    out
}

/// "3 successful, 1 running" from `/api/jobs` (a list, or an object holding `jobs`).
fn job_counts(jobs: &serde_json::Value) -> String {
    let list = jobs.get("jobs").unwrap_or(jobs).as_array().cloned().unwrap_or_default();
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for job in &list {
        // `status` is the plain word (Queued, Running, Completed, Failed); `job_status`
        // is a sentence.
        let status = job.get("status").and_then(|s| s.as_str()).unwrap_or("unknown");
        *counts.entry(status.to_ascii_lowercase()).or_default() += 1;
    }
    if counts.is_empty() {
        return "none".into();
    }
    counts.iter().map(|(status, n)| format!("{n} {status}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executors_show_their_slots_and_heartbeat_age_and_jobs_are_counted_by_status() {
        let executors: Vec<Executor> = serde_json::from_str(
            r#"[{"id":"e1","host":"10.0.0.2","port":50051,"last_seen":1000000,"specification":{"vcores":2},"metrics":[],"os_info":{}},
                {"id":"e2","host":"10.0.0.3","port":50051,"last_seen":null,"specification":{"vcores":4},"metrics":[]}]"#,
        )
        .unwrap();
        let jobs = serde_json::json!([
            {"job_id": "a", "status": "Completed", "job_status": "Completed. produced 1 partition"},
            {"job_id": "b", "status": "Completed"},
            {"job_id": "c", "status": "Running"},
        ]);
        let shown = render("h:50050", &executors, &jobs, 1_002_500);
        assert!(shown.starts_with("scheduler h:50050: 2 executor(s), 6 task slot(s)\n"), "{shown}");
        assert!(shown.contains("e1  10.0.0.2:50051  slots 2  last seen 2.5s ago"), "{shown}");
        assert!(shown.contains("last seen never"), "{shown}");
        assert!(shown.ends_with("jobs: 2 completed, 1 running\n"), "{shown}");
    }
}
