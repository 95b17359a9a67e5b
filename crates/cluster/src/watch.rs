//! [`ExecutorWatch`]: a build's view of a remote cluster's executors, so that losing one
//! ends the build in seconds, naming it, with nothing computed after the loss committed
//! (see [`pitwall_core::EngineWatch`] for why Ballista's own recovery is not relied on).
//!
//! An executor is lost when its Flight port (where other tasks fetch its shuffle output)
//! stops accepting connections, or when the scheduler drops it for missed heartbeats,
//! whichever comes first: a killed process refuses connections at once, while the
//! scheduler waits out its executor timeout (20 s).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::future::{BoxFuture, FutureExt, join_all};
use pitwall_core::EngineWatch;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::client::{http_base, job_name};
use crate::status::{Executor, executors, get_json};

/// How often the executors are looked at during a build.
const POLL: Duration = Duration::from_secs(1);
/// How long one connection attempt to an executor may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Failed looks in a row that make an executor lost while polling (one before a commit):
/// a single slow connection on a busy network is not a lost machine.
const STRIKES: u32 = 2;
/// How long a build waits at its start for the scheduler to drop an executor that no
/// longer answers (pitwall's scheduler drops one after 20 s without a heartbeat).
const DROP_WAIT: Duration = Duration::from_secs(30);

/// Watches the executors of the scheduler at a `df://` URL while it lives.
pub struct ExecutorWatch {
    shared: Arc<Shared>,
    poller: JoinHandle<()>,
    http: reqwest::Client,
    /// The scheduler's `http://HOST:PORT`.
    base: String,
}

struct Shared {
    /// Executors seen during the build, by id: their Flight addresses.
    known: Mutex<BTreeMap<String, String>>,
    /// What was lost, once anything is.
    lost: watch::Sender<Option<String>>,
}

impl ExecutorWatch {
    /// Starts watching the scheduler at `url`. An executor the scheduler still lists but
    /// that does not answer (killed moments ago) is waited out first, so a build never
    /// sends work to it; a scheduler that does not answer is an error at once.
    pub async fn start(url: &str) -> Result<ExecutorWatch> {
        let base = http_base(url)?;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
        let listed = whole_cluster(url, &http, &base).await?;
        let known = listed.iter().map(|e| (e.id.clone(), e.address())).collect();
        let shared = Arc::new(Shared { known: Mutex::new(known), lost: watch::channel(None).0 });
        let poller = tokio::spawn(poll(shared.clone(), http.clone(), base.clone()));
        Ok(ExecutorWatch { shared, poller, http, base })
    }

    /// Cancels this process's queued and running jobs (those named [`job_name`]), so the
    /// executors left stop spending slots on results no one will read. Returns how many.
    async fn cancel_own_jobs(&self) -> Result<usize> {
        let listed: Vec<Job> = get_json(&self.http, &self.base, "/api/jobs").await?;
        let own = listed
            .iter()
            .filter(|job| job.job_name == job_name() && matches!(job.status.as_str(), "Queued" | "Running"));
        let mut cancelled = 0;
        for job in own {
            let url = format!("{}/api/job/{}", self.base, job.job_id);
            if self.http.patch(&url).send().await.and_then(|answer| answer.error_for_status()).is_ok() {
                cancelled += 1;
            }
        }
        Ok(cancelled)
    }
}

impl Drop for ExecutorWatch {
    fn drop(&mut self) {
        self.poller.abort();
    }
}

impl EngineWatch for ExecutorWatch {
    fn lost(&self) -> BoxFuture<'_, String> {
        let mut lost = self.shared.lost.subscribe();
        async move {
            let found = lost.wait_for(Option::is_some).await.map(|what| what.clone().unwrap_or_default());
            match found {
                Ok(what) => what,
                // The sender lives in `self`, which outlives this future.
                Err(_) => std::future::pending().await,
            }
        }
        .boxed()
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        async move {
            if let Some(what) = self.shared.lost.borrow().clone() {
                return Err(what);
            }
            let known = self.shared.known.lock().expect("not poisoned").clone();
            let silent = unreachable(&known).await;
            match silent.into_iter().next() {
                None => Ok(()),
                Some((id, address, why)) => Err(self.shared.mark_lost(&id, &address, &why)),
            }
        }
        .boxed()
    }

    fn abandon(&self) -> BoxFuture<'_, ()> {
        async move {
            match tokio::time::timeout(Duration::from_secs(10), self.cancel_own_jobs()).await {
                Ok(Ok(0)) | Err(_) => {}
                Ok(Ok(n)) => eprintln!("Cancelled the {n} job(s) this build left on the cluster"),
                Ok(Err(e)) => tracing::warn!("cannot cancel the jobs this build left on the cluster: {e:#}"),
            }
        }
        .boxed()
    }
}

/// A job as the scheduler's `/api/jobs` lists it.
#[derive(serde::Deserialize)]
struct Job {
    job_id: String,
    job_name: String,
    /// Queued, Running, Completed, Failed.
    status: String,
}

impl Shared {
    /// Records `id` as lost (the first loss is the one reported) and says so.
    fn mark_lost(&self, id: &str, address: &str, why: &str) -> String {
        let what = format!("lost the Ballista executor {id} at {address} ({why})");
        self.lost.send_if_modified(|lost| {
            if lost.is_some() {
                return false;
            }
            *lost = Some(what.clone());
            true
        });
        self.lost.borrow().clone().unwrap_or(what)
    }
}

/// Looks at the executors every [`POLL`] until one is lost.
async fn poll(shared: Arc<Shared>, http: reqwest::Client, base: String) {
    let mut strikes = BTreeMap::<String, u32>::new();
    loop {
        tokio::time::sleep(POLL).await;
        // A scheduler that does not answer fails the build's own requests; this only
        // judges executors.
        let listed = executors(&http, &base).await.ok();
        let known = shared.known.lock().expect("not poisoned").clone();
        if let Some(listed) = &listed {
            if let Some((id, address)) = known.iter().find(|(id, _)| !listed.iter().any(|e| &e.id == *id)) {
                shared.mark_lost(id, address, "the scheduler dropped it: no heartbeat");
                return;
            }
            let mut known = shared.known.lock().expect("not poisoned");
            for executor in listed {
                known.entry(executor.id.clone()).or_insert_with(|| executor.address());
            }
        }
        let silent = unreachable(&known).await;
        strikes.retain(|id, _| silent.iter().any(|(silent, _, _)| silent == id));
        for (id, address, why) in silent {
            let count = strikes.entry(id.clone()).or_default();
            *count += 1;
            if *count >= STRIKES {
                shared.mark_lost(&id, &address, &why);
                return;
            }
        }
    }
}

/// The executors among `known` (id → address) whose Flight port does not take a
/// connection now, each with why.
async fn unreachable(known: &BTreeMap<String, String>) -> Vec<(String, String, String)> {
    let tries = known.iter().map(|(id, address)| async move {
        let why = match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(address.as_str())).await {
            Ok(Ok(_)) => return None,
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {}s", CONNECT_TIMEOUT.as_secs()),
        };
        Some((id.clone(), address.clone(), why))
    });
    join_all(tries).await.into_iter().flatten().collect()
}

/// The scheduler's executors once every one it lists answers: one that does not (killed
/// moments ago) is waited for until the scheduler drops it, at most [`DROP_WAIT`].
async fn whole_cluster(url: &str, http: &reqwest::Client, base: &str) -> Result<Vec<Executor>> {
    let started = Instant::now();
    let mut told = false;
    loop {
        let listed = executors(http, base).await.with_context(|| {
            format!("the Ballista scheduler at {url} does not answer (is `pitwall cluster scheduler` running there?)")
        })?;
        let addresses = listed.iter().map(|e| (e.id.clone(), e.address())).collect();
        let Some((id, address, why)) = unreachable(&addresses).await.into_iter().next() else {
            return Ok(listed);
        };
        if started.elapsed() >= DROP_WAIT {
            bail!(
                "the Ballista scheduler at {url} still lists executor {id} at {address}, which does not answer \
                 ({why}): restart it, or the scheduler (pitwall's drops a silent executor after 20 s)"
            );
        }
        if !told {
            eprintln!(
                "Waiting for the scheduler at {url} to drop executor {id} at {address}, which does not answer ({why})"
            );
            told = true;
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch_of(known: &[(&str, String)]) -> ExecutorWatch {
        let known = known.iter().map(|(id, address)| (id.to_string(), address.clone())).collect();
        let shared = Arc::new(Shared { known: Mutex::new(known), lost: watch::channel(None).0 });
        let (http, base) = (reqwest::Client::new(), "http://127.0.0.1:9".to_owned());
        ExecutorWatch { shared, poller: tokio::spawn(async {}), http, base }
    }

    #[tokio::test]
    async fn a_listening_executor_is_whole_and_a_closed_port_is_lost_by_name() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let alive = listener.local_addr().unwrap().to_string();
        let closed = {
            let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            gone.local_addr().unwrap().to_string()
        };
        let watch = watch_of(&[("alive", alive.clone())]);
        assert_eq!(watch.check().await, Ok(()));
        assert!(watch.lost().now_or_never().is_none(), "nothing lost yet");

        let watch = watch_of(&[("alive", alive), ("gone", closed.clone())]);
        let lost = watch.check().await.unwrap_err();
        assert!(lost.starts_with(&format!("lost the Ballista executor gone at {closed} (")), "{lost}");
        // Sticky: the loss is what `lost` resolves with from now on.
        assert_eq!(watch.lost().now_or_never(), Some(lost));
    }

    #[tokio::test]
    async fn the_first_loss_is_the_one_reported() {
        let watch = watch_of(&[]);
        let first = watch.shared.mark_lost("a", "h:1", "refused");
        let second = watch.shared.mark_lost("b", "h:2", "refused");
        assert_eq!(first, second);
        assert!(first.contains("executor a at h:1"), "{first}");
    }
}
