//! The lock of a warehouse in an object store (S3), which has no file locks: a lease, one
//! small object (`<warehouse>/.pitwall.lock`) naming its holder and when it expires,
//! changed only by conditional writes, so two builds never both hold it.
//!
//! - Taken with a create-if-absent PUT (`If-None-Match: *`, object_store's
//!   `PutMode::Create`); if the object exists and has expired (its holder died or was cut
//!   off), taken over with a PUT conditional on the ETag read (`If-Match`,
//!   `PutMode::Update`), which only one of several racing takers wins.
//! - Renewed while held, every third of its time to live, each renewal conditional on the
//!   ETag of the previous write; a renewal that fails means the lease was lost (this
//!   process stalled past its expiry and another took it over), which is said loudly.
//! - Released by a conditional write that marks it expired, so the next taker need not wait.
//!
//! Expiry is judged on each machine's clock: clocks must agree to well within the time to
//! live (30 s), as they do under NTP.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, PutResult, UpdateVersion};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::error::{Error, Result};

/// How long a lease lasts without renewal: what a crashed build costs the next one.
pub const TIME_TO_LIVE: Duration = Duration::from_secs(30);

/// How often a waiting taker looks again.
const POLL: Duration = Duration::from_millis(500);

/// The lease object's content.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    /// Who holds it: pid, host and command line, for whoever has to wait.
    holder: String,
    /// Milliseconds since the Unix epoch; 0 once released.
    expires_at_ms: u64,
}

impl Record {
    fn held_by(holder: &str, ttl: Duration) -> PutPayload {
        let expires_at_ms = now_ms() + ttl.as_millis() as u64;
        Record { holder: holder.to_owned(), expires_at_ms }.payload()
    }

    fn payload(&self) -> PutPayload {
        PutPayload::from(serde_json::to_vec(self).expect("a lease record serializes"))
    }
}

/// A lease held, renewed in the background until [`Lease::release`] (or drop).
#[derive(Debug)]
pub struct Lease {
    store: Arc<dyn ObjectStore>,
    path: Path,
    holder: String,
    /// The version of the object this process wrote last.
    version: Arc<Mutex<UpdateVersion>>,
    renewing: JoinHandle<()>,
}

/// Where a lease lives and who would hold it.
pub struct LeaseSite {
    pub store: Arc<dyn ObjectStore>,
    pub path: Path,
    /// The lease object's URL, for messages.
    pub display: String,
    pub holder: String,
    pub ttl: Duration,
}

impl Lease {
    /// Takes the lease at `site`. When someone else holds it, `wait` decides: wait until
    /// it is released or expires (calling `on_wait` once, with its holder), or fail at once
    /// with [`Error::WarehouseLocked`] naming the holder.
    pub async fn acquire(site: LeaseSite, wait: bool, on_wait: impl FnOnce(&str)) -> Result<Lease> {
        let mut on_wait = Some(on_wait);
        loop {
            if let Some(written) = try_take(&site).await? {
                return Ok(Lease::held(site, written));
            }
            let holder = current_holder(&site).await?;
            if !wait {
                return Err(Error::WarehouseLocked { lock_file: site.display.clone(), holder });
            }
            if let Some(on_wait) = on_wait.take() {
                on_wait(&holder);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    fn held(site: LeaseSite, written: PutResult) -> Lease {
        let version = Arc::new(Mutex::new(UpdateVersion { e_tag: written.e_tag, version: written.version }));
        let renewing = tokio::spawn(renew(
            site.store.clone(),
            site.path.clone(),
            site.holder.clone(),
            site.ttl,
            version.clone(),
            site.display,
        ));
        Lease { store: site.store, path: site.path, holder: site.holder, version, renewing }
    }

    /// Stops renewing and marks the lease expired, so the next build takes it at once.
    /// Best effort: if this write fails, the lease expires on its own.
    pub async fn release(self) {
        self.renewing.abort();
        let version = self.version.lock().expect("not poisoned").clone();
        let released = Record { holder: self.holder.clone(), expires_at_ms: 0 }.payload();
        let options = PutOptions::from(PutMode::Update(version));
        if let Err(e) = self.store.put_opts(&self.path, released, options).await {
            tracing::warn!("{}: cannot release the warehouse lease (it expires by itself): {e}", self.path);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Released explicitly or not, renewal ends with the holder.
        self.renewing.abort();
    }
}

/// One attempt: creates the lease object, or takes over an expired one. `None`: someone
/// holds it (or won the race to take it over).
async fn try_take(site: &LeaseSite) -> Result<Option<PutResult>> {
    let create = PutOptions::from(PutMode::Create);
    match site.store.put_opts(&site.path, Record::held_by(&site.holder, site.ttl), create).await {
        Ok(written) => return Ok(Some(written)),
        Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let found = match site.store.get(&site.path).await {
        Ok(found) => found,
        // Deleted in between: try again from the start.
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let version = UpdateVersion { e_tag: found.meta.e_tag.clone(), version: found.meta.version.clone() };
    let record = read_record(&found.bytes().await?);
    if record.is_some_and(|r| r.expires_at_ms > now_ms()) {
        return Ok(None);
    }
    let take_over = PutOptions::from(PutMode::Update(version));
    match site.store.put_opts(&site.path, Record::held_by(&site.holder, site.ttl), take_over).await {
        Ok(written) => Ok(Some(written)),
        Err(object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Who holds the lease now, and until when, for messages.
async fn current_holder(site: &LeaseSite) -> Result<String> {
    let bytes = match site.store.get(&site.path).await {
        Ok(found) => found.bytes().await?,
        Err(object_store::Error::NotFound { .. }) => return Ok("nobody (it was just released)".to_owned()),
        Err(e) => return Err(e.into()),
    };
    Ok(match read_record(&bytes) {
        Some(record) => {
            let left = record.expires_at_ms.saturating_sub(now_ms()) as f64 / 1000.0;
            format!("{} (its lease runs {left:.0} s more unless renewed)", record.holder)
        }
        None => format!("an unreadable lease at {}", site.display),
    })
}

/// A lease object's record; `None` when it does not parse (then it counts as expired).
fn read_record(bytes: &[u8]) -> Option<Record> {
    serde_json::from_slice(bytes).ok()
}

/// Renews the lease every third of `ttl` until aborted or lost.
async fn renew(
    store: Arc<dyn ObjectStore>,
    path: Path,
    holder: String,
    ttl: Duration,
    version: Arc<Mutex<UpdateVersion>>,
    display: String,
) {
    loop {
        tokio::time::sleep(ttl / 3).await;
        let current = version.lock().expect("not poisoned").clone();
        let options = PutOptions::from(PutMode::Update(current));
        match store.put_opts(&path, Record::held_by(&holder, ttl), options).await {
            Ok(written) => {
                *version.lock().expect("not poisoned") =
                    UpdateVersion { e_tag: written.e_tag, version: written.version };
            }
            Err(e) => {
                // Lost (another build took it over after it expired) or unreachable: this
                // build no longer excludes others, and must say so.
                eprintln!(
                    "error: the warehouse lease at {display} could not be renewed ({e}); another build may now \
                     write the warehouse too"
                );
                return;
            }
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use object_store::memory::InMemory;

    use super::*;

    fn site(store: &Arc<dyn ObjectStore>, holder: &str, ttl: Duration) -> LeaseSite {
        LeaseSite {
            store: store.clone(),
            path: Path::from("wh/.pitwall.lock"),
            display: "memory:///wh/.pitwall.lock".to_owned(),
            holder: holder.to_owned(),
            ttl,
        }
    }

    #[tokio::test]
    async fn a_held_lease_refuses_a_second_taker_by_name_until_released() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let first = Lease::acquire(site(&store, "build 1", TIME_TO_LIVE), false, |_| {}).await.unwrap();
        let refused = Lease::acquire(site(&store, "build 2", TIME_TO_LIVE), false, |_| {}).await.unwrap_err();
        assert!(refused.to_string().contains("build 1"), "{refused}");
        first.release().await;
        Lease::acquire(site(&store, "build 2", TIME_TO_LIVE), false, |_| {}).await.unwrap();
    }

    #[tokio::test]
    async fn an_expired_lease_is_taken_over_and_a_waiter_gets_it_when_released() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        // A holder that died: its lease is never renewed (the task is dropped with it).
        let dead = Lease::acquire(site(&store, "dead build", Duration::from_millis(300)), false, |_| {}).await.unwrap();
        drop(dead);
        tokio::time::sleep(Duration::from_millis(400)).await;
        let second = Lease::acquire(site(&store, "build 2", TIME_TO_LIVE), false, |_| {}).await.unwrap();
        let waiter = tokio::spawn({
            let store = store.clone();
            async move {
                let mut told = String::new();
                let lease = Lease::acquire(site(&store, "build 3", TIME_TO_LIVE), true, |h| told = h.to_owned()).await;
                (lease.map(drop), told)
            }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        second.release().await;
        let (taken, told) = waiter.await.unwrap();
        taken.unwrap();
        assert!(told.starts_with("build 2"), "{told}");
    }

    #[tokio::test]
    async fn a_lease_is_renewed_while_held() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let _held =
            Lease::acquire(site(&store, "long build", Duration::from_millis(300)), false, |_| {}).await.unwrap();
        tokio::time::sleep(Duration::from_millis(700)).await;
        let refused = Lease::acquire(site(&store, "build 2", TIME_TO_LIVE), false, |_| {}).await;
        assert!(refused.is_err(), "a renewed lease outlives its first time to live");
    }
}
