//! A local S3 server for the object-store tests: moto (`.ci/s3-server`), a uniquely named
//! bucket per test, uploads and listings from test code, and the variables a `pitwall`
//! child process reaches the server with.
//!
//! The server is `PITWALL_TEST_S3_ENDPOINT` when set (CI starts one for the whole run);
//! otherwise this process installs moto into `target/venv` (`.ci/s3-server install`) and
//! runs its own `moto_server`, once, killed when the test process ends. The server that
//! checks signatures ([`S3::authenticated`]) is always this process's own.

use std::ffi::OsStr;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::{Run, gunzip, pitwall_command, real_data, workspace};
use pitwall_test_servers::{Server, http, installed};

/// The region every request names (moto accepts any).
const REGION: &str = "us-east-1";

/// An S3 endpoint and the credentials this helper signs its own requests with.
pub(crate) struct S3 {
    endpoint: String,
    access_key_id: String,
    secret_access_key: String,
}

/// A server that checks every request's signature and permissions, with the only access
/// key it accepts and a few buckets made before the checks were turned on.
pub(crate) struct Authenticated {
    pub(crate) s3: S3,
    buckets: Vec<String>,
    next: AtomicUsize,
}

/// How many buckets the signature-checking server has for tests to take.
const AUTHENTICATED_BUCKETS: usize = 4;

impl Authenticated {
    /// A bucket no other test uses.
    pub(crate) fn bucket(&self) -> &str {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.buckets.get(n).unwrap_or_else(|| panic!("only {AUTHENTICATED_BUCKETS} signed buckets; make more"))
    }
}

impl S3 {
    /// The shared server, which checks no signature (moto's default): any key works.
    pub(crate) fn shared() -> &'static S3 {
        static SHARED: OnceLock<S3> = OnceLock::new();
        SHARED.get_or_init(|| {
            let endpoint = match std::env::var("PITWALL_TEST_S3_ENDPOINT") {
                Ok(endpoint) if !endpoint.is_empty() => endpoint.trim_end_matches('/').to_owned(),
                _ => spawn_moto(),
            };
            S3 { endpoint, access_key_id: "testing".into(), secret_access_key: "testing".into() }
        })
    }

    /// A server of this process's own with moto's IAM checks on: a request signed with
    /// any other secret than `s3.secret_access_key()` gets 403 SignatureDoesNotMatch.
    pub(crate) fn authenticated() -> &'static Authenticated {
        static AUTHENTICATED: OnceLock<Authenticated> = OnceLock::new();
        AUTHENTICATED.get_or_init(|| {
            let endpoint = spawn_moto();
            let buckets: Vec<String> = (0..AUTHENTICATED_BUCKETS).map(|n| format!("pitwall-signed-{n}")).collect();
            let output = Command::new(workspace().join(".ci/s3-server"))
                .args(["iam-user", &endpoint])
                .args(&buckets)
                .output()
                .expect(".ci/s3-server runs");
            let stdout = String::from_utf8_lossy(&output.stdout);
            let fields: Vec<&str> = stdout.split_whitespace().collect();
            match (output.status.success(), fields.as_slice()) {
                (true, [key, secret]) => Authenticated {
                    s3: S3 { endpoint, access_key_id: (*key).into(), secret_access_key: (*secret).into() },
                    buckets,
                    next: AtomicUsize::new(0),
                },
                _ => panic!(
                    ".ci/s3-server iam-user failed ({}):\n{stdout}{}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr)
                ),
            }
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub(crate) fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }

    /// Creates a bucket no other test uses (on an unauthenticated server) and returns its
    /// name.
    pub(crate) fn bucket(&self, tag: &str) -> String {
        let bucket = unique_bucket_name(tag);
        let (status, response) =
            http(&self.endpoint, "PUT", &format!("/{bucket}")).unwrap_or_else(|e| panic!("{}: {e}", self.endpoint));
        assert_eq!(status, 200, "creating bucket {bucket} at {}:\n{response}", self.endpoint);
        bucket
    }

    /// Whether the bucket exists (on an unauthenticated server).
    pub(crate) fn bucket_exists(&self, bucket: &str) -> bool {
        match http(&self.endpoint, "HEAD", &format!("/{bucket}")) {
            Ok((200, _)) => true,
            Ok((404, _)) => false,
            other => panic!("HEAD {}/{bucket}: {other:?}", self.endpoint),
        }
    }

    /// Writes `bytes` to `s3://bucket/key`.
    pub(crate) fn put(&self, bucket: &str, key: &str, bytes: Vec<u8>) {
        let store = self.store(bucket);
        block_on(store.put(&ObjectPath::from(key), PutPayload::from(bytes)))
            .unwrap_or_else(|e| panic!("putting s3://{bucket}/{key}: {e}"));
    }

    /// Uploads the bundled data (`data/f1/*.csv.gz`) gunzipped, as the 8 plain CSVs
    /// `s3://bucket/<prefix><table>.csv`.
    pub(crate) fn put_real_data(&self, bucket: &str, prefix: &str) {
        let mut uploaded = 0;
        for entry in std::fs::read_dir(real_data()).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap();
            if let Some(csv) = name.strip_suffix(".gz") {
                self.put(bucket, &format!("{prefix}{csv}"), gunzip(&path).into_bytes());
                uploaded += 1;
            }
        }
        assert_eq!(uploaded, 8, "data/f1 should hold the 8 source tables");
    }

    /// Every key in the bucket, sorted.
    pub(crate) fn keys(&self, bucket: &str) -> Vec<String> {
        let store = self.store(bucket);
        let mut keys: Vec<String> = block_on(store.list(None).map_ok(|meta| meta.location.to_string()).try_collect())
            .unwrap_or_else(|e| panic!("listing s3://{bucket}: {e}"));
        keys.sort();
        keys
    }

    /// The variables a `pitwall` process reaches this server with, signing with `secret`.
    pub(crate) fn env(&self, secret: &str) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", self.access_key_id.as_str()),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("AWS_REGION", REGION),
            ("AWS_MAX_ATTEMPTS", "2"),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
    }

    fn store(&self, bucket: &str) -> impl ObjectStore {
        AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_bucket_name(bucket)
            .with_region(REGION)
            .with_access_key_id(&self.access_key_id)
            .with_secret_access_key(&self.secret_access_key)
            .build()
            .unwrap()
    }
}

/// Runs pitwall from the workspace root with exactly the variables `env` (no `AWS_*` or
/// `PITWALL_*` variable of this process is inherited); give `--target-path` in `args`.
pub(crate) fn pitwall_env(env: &[(String, String)], args: &[impl AsRef<OsStr>]) -> Run {
    let mut command = pitwall_command();
    command.current_dir(workspace());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            command.env_remove(&key);
        }
    }
    let output = command.envs(env.iter().map(|(k, v)| (k, v))).args(args).output().expect("pitwall runs");
    Run::from(output)
}

/// `pitwall-<tag>-<pid>-<n>-<time>`: unique in this process, and across processes on a
/// server that outlives them.
pub(crate) fn unique_bucket_name(tag: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("pitwall-{tag}-{}-{n}-{nanos}", std::process::id())
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

/// A `moto_server` of this process's own, on a free port; returns its endpoint.
fn spawn_moto() -> String {
    let program = installed("s3-server", "target/venv/bin/moto_server");
    Server::start_for_process(&program, |port| vec!["-H".into(), "127.0.0.1".into(), "-p".into(), port.to_string()])
}
