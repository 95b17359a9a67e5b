//! The client side: the session a build submits SQL through, checked before use, and
//! the in-process cluster behind `--engine ballista`.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ballista::prelude::SessionContextExt;
use ballista_core::config::{BALLISTA_ADAPTIVE_PLANNER_ENABLED, BALLISTA_JOB_NAME};
use ballista_core::extension::SessionConfigExt;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::SessionContext;
use tokio::task::JoinHandle;

use crate::executor::{self, ExecutorOptions};
use crate::scheduler;

/// Runs every one of pitwall's SQL functions (see the test below) on the cluster: a
/// cluster whose processes lack one (stock Ballista binaries) fails here, naming it,
/// before any model is submitted.
const FUNCTION_PROBE: &str = "select round_half_even(x, 0) as probe from (values (2.5)) as t(x)";
/// How long the probe may take: an executor that cannot decode a task can leave its job
/// waiting, so the probe is bounded rather than trusted to fail.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// A Ballista session on the scheduler at `url` (`df://host:port`), made from the
/// client's state so its SQL planner knows pitwall's functions and the catalog is the
/// client's. Its jobs are planned whole, without Ballista 55's adaptive planner (AQE,
/// on by default), which re-plans a job as stages finish and, when that fails, only
/// logs, leaving a job with no runnable stage; pitwall's models gain nothing from it.
pub async fn session(url: &str, client: &SessionContext, wait: Duration) -> Result<SessionContext> {
    wait_until_ready(url, wait).await?;
    // Creating the default catalog is turned off (it exists): Ballista rebuilds the
    // state it is given, and with that on it would replace the shared catalog with an
    // empty one.
    let config = client
        .copied_config()
        .with_create_default_catalog_and_schema(false)
        .upgrade_for_ballista()
        .set_bool(BALLISTA_ADAPTIVE_PLANNER_ENABLED, false)
        .set_str(BALLISTA_JOB_NAME, job_name());
    let state = SessionStateBuilder::new_from_existing(client.state()).with_config(config).build();
    let session = SessionContext::remote_with_state(url, state)
        .await
        .with_context(|| format!("connecting to the Ballista scheduler at {url}"))?;
    // Upgrading the state for Ballista resets its scalar functions to DataFusion's own,
    // so the client-side SQL planner needs pitwall's registered again.
    pitwall_core::functions::register(&session);
    probe_functions(url, &session).await?;
    Ok(session)
}

async fn probe_functions(url: &str, session: &SessionContext) -> Result<()> {
    let probe = async { session.sql(FUNCTION_PROBE).await?.collect().await };
    match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
        Ok(Ok(_)) => Ok(()),
        // Only a failure that names the function is blamed on it: anything else (an
        // executor that cannot reach the object store, say) is shown as it is.
        Ok(Err(e)) if e.to_string().contains("round_half_even") => bail!(
            "the cluster at {url} cannot run pitwall's SQL function round_half_even ({e}); start its \
             scheduler and executors with `pitwall cluster scheduler` and `pitwall cluster executor`"
        ),
        Ok(Err(e)) => bail!("the cluster at {url} failed its first query: {e}"),
        Err(_) => bail!(
            "the cluster at {url} did not run pitwall's SQL function round_half_even within {}s: do its \
             executors run `pitwall cluster executor` (stock Ballista executors lack it)?",
            PROBE_TIMEOUT.as_secs()
        ),
    }
}

/// The name every job this process submits carries (`pitwall-PID-STARTMS`), so that the
/// jobs a stopped build left on the cluster can be told from other clients' and ended.
pub(crate) fn job_name() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        format!("pitwall-{}-{}", std::process::id(), started.as_millis())
    })
}

/// The scheduler's HTTP address for `df://host:port`.
pub(crate) fn http_base(url: &str) -> Result<String> {
    let rest = url.strip_prefix("df://").with_context(|| format!("`{url}` is not a df://HOST:PORT URL"))?;
    let address = rest.trim_end_matches('/');
    if address.is_empty() || !address.contains(':') {
        bail!("`{url}` names no HOST:PORT (e.g. df://localhost:50050)");
    }
    Ok(format!("http://{address}"))
}

/// Asks the scheduler's `/readyz` until it has an executor: an unreachable scheduler
/// fails at once, one without executors after `wait`.
async fn wait_until_ready(url: &str, wait: Duration) -> Result<()> {
    let readyz = format!("{}/readyz", http_base(url)?);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let started = Instant::now();
    loop {
        let answer = client.get(&readyz).send().await.with_context(|| {
            format!("the Ballista scheduler at {url} does not answer (is `pitwall cluster scheduler` running there?)")
        })?;
        let ready = answer.status().is_success();
        let text = answer.text().await.unwrap_or_default();
        if ready {
            return Ok(());
        }
        if started.elapsed() >= wait {
            bail!("the Ballista scheduler at {url} has no executor: {}", text.trim());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A scheduler and one executor in this process, on loopback ports, with a work folder
/// removed when this is dropped (`--engine ballista`).
pub struct Standalone {
    url: String,
    tasks: Vec<JoinHandle<Result<()>>>,
    _work_dir: tempfile::TempDir,
}

impl Standalone {
    /// Starts them, the work folder under `temp_root` (the OS temp folder if `None`).
    pub async fn start(temp_root: Option<&Path>) -> Result<Standalone> {
        let work_dir = match temp_root {
            Some(root) => tempfile::Builder::new().prefix("pitwall-ballista-").tempdir_in(root),
            None => tempfile::Builder::new().prefix("pitwall-ballista-").tempdir(),
        }
        .context("creating the in-process executor's work folder")?;
        let scheduler_address = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let options = ExecutorOptions {
            scheduler_host: "127.0.0.1".into(),
            scheduler_port: scheduler_address.port(),
            bind_host: "127.0.0.1".into(),
            external_host: None,
            flight_port: free_port()?,
            grpc_port: free_port()?,
            work_dir: work_dir.path().to_path_buf(),
            concurrent_tasks: 0,
            scheduling: scheduler::IN_PROCESS_SCHEDULING,
        };
        let scheduler = tokio::spawn(scheduler::serve(scheduler_address, scheduler::IN_PROCESS_SCHEDULING));
        listening(scheduler_address, &scheduler).await?;
        let tasks = vec![scheduler, tokio::spawn(executor::serve(options))];
        end_on_signal(work_dir.path().to_path_buf())?;
        Ok(Standalone { url: format!("df://{scheduler_address}"), tasks, _work_dir: work_dir })
    }

    /// The in-process scheduler's `df://` URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Ends the process on Ctrl-C or SIGTERM as their default action would, after removing
/// the executor's work folder. Needed because Ballista's executor listens for both (to
/// shut itself down gracefully), which takes their default action away from the whole
/// process: a build would otherwise go on without its executor until its jobs time out.
/// The watcher has a thread and runtime of its own, so busy query workers cannot delay it.
fn end_on_signal(work_dir: std::path::PathBuf) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    std::thread::Builder::new().name("pitwall-signals".into()).spawn(move || {
        runtime.block_on(async {
            let Ok(mut terminate) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
                return;
            };
            let code = tokio::select! {
                _ = tokio::signal::ctrl_c() => 130,
                _ = terminate.recv() => 143,
            };
            // Tasks may still be writing into it: a few tries catch the files they add.
            for _ in 0..5 {
                if std::fs::remove_dir_all(&work_dir).is_ok() || !work_dir.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            std::process::exit(code);
        })
    })?;
    Ok(())
}

/// Waits until the in-process scheduler accepts connections, or says why it stopped.
async fn listening(address: SocketAddr, scheduler: &JoinHandle<Result<()>>) -> Result<()> {
    let started = Instant::now();
    while tokio::net::TcpStream::connect(address).await.is_err() {
        if scheduler.is_finished() || started.elapsed() > Duration::from_secs(30) {
            bail!("the in-process Ballista scheduler did not start on {address}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// A port free on loopback now: the OS picks it, and it is released for the server that
/// binds it next (Ballista's executor advertises the port it is given, so it cannot
/// bind port 0 itself).
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_calls_every_function_pitwall_adds() {
        for udf in pitwall_core::functions::udfs() {
            assert!(FUNCTION_PROBE.contains(&format!("{}(", udf.name())), "{} is not probed", udf.name());
        }
    }

    #[test]
    fn scheduler_urls_must_name_host_and_port() {
        assert_eq!(http_base("df://h:50050").unwrap(), "http://h:50050");
        assert!(http_base("df://h").unwrap_err().to_string().contains("names no HOST:PORT"));
        assert!(http_base("http://h:1").is_err());
    }

    #[tokio::test]
    async fn a_cluster_without_pitwalls_functions_is_refused_naming_the_function() {
        // A session that lacks round_half_even, as a stock Ballista cluster's planner does.
        let refused = probe_functions("df://stock:50050", &SessionContext::new()).await.unwrap_err().to_string();
        assert!(refused.contains("df://stock:50050 cannot run pitwall's SQL function round_half_even"), "{refused}");
        assert!(refused.contains("pitwall cluster executor"), "{refused}");
    }

    #[tokio::test]
    async fn an_unreachable_scheduler_fails_at_once() {
        let url = format!("df://127.0.0.1:{}", free_port().unwrap());
        let started = Instant::now();
        let refused =
            session(&url, &SessionContext::new(), Duration::from_secs(30)).await.err().expect("no scheduler there");
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        assert!(format!("{refused:#}").contains("does not answer"), "{refused:#}");
    }
}
