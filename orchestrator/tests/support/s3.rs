//! A local S3 server for the object-store tests: moto (`.ci/s3-server`), a uniquely named
//! bucket per test, uploads and listings from test code, and the variables a `pitwall`
//! child process reaches the server with.
//!
//! The server is `PITWALL_TEST_S3_ENDPOINT` when set (CI starts one for the whole run);
//! otherwise this process installs moto into `target/venv` (`.ci/s3-server install`) and
//! runs its own `moto_server`, once, killed when the test process ends. The server that
//! checks signatures ([`S3::authenticated`]) is always this process's own.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::{Run, gunzip, pitwall_command, real_data, workspace};

/// The region every request names (moto accepts any).
const REGION: &str = "us-east-1";
/// How long a fresh `moto_server` may take to answer (Python imports on a busy machine).
const STARTUP: Duration = Duration::from_secs(60);

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

/// `.ci/s3-server install`, once per process (two servers must not race one pip).
fn moto_server_program() -> &'static Path {
    static PROGRAM: OnceLock<PathBuf> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        let output =
            Command::new(workspace().join(".ci/s3-server")).arg("install").output().expect(".ci/s3-server runs");
        assert!(
            output.status.success(),
            ".ci/s3-server install failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        workspace().join("target/venv/bin/moto_server")
    })
}

/// Starts a `moto_server` of this process's own and returns its endpoint once it answers.
/// The server is killed when this process ends (`PR_SET_PDEATHSIG`). That signal follows
/// the thread that spawned the child, not the process, and test threads end, so a thread
/// that never ends spawns it and keeps its handle.
fn spawn_moto() -> String {
    let program = moto_server_program();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("moto_server".into())
        .spawn(move || match start_moto(program) {
            Ok((endpoint, child)) => {
                sender.send(Ok(endpoint)).unwrap();
                let _child = child;
                loop {
                    std::thread::park();
                }
            }
            Err(e) => sender.send(Err(e)).unwrap(),
        })
        .unwrap();
    receiver.recv().unwrap().unwrap_or_else(|e| panic!("cannot start moto_server: {e}"))
}

/// Tries a few free ports (another process may take one between the probe and the bind).
fn start_moto(program: &Path) -> Result<(String, Child), String> {
    let mut problems = Vec::new();
    for _ in 0..3 {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
        let log_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("moto_server-{port}.log"));
        let log = std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let parent = std::process::id();
        let mut command = Command::new(program);
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        // SAFETY: prctl and getppid are async-signal-safe, and nothing is allocated here.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have ended before the signal was asked for.
                if libc::getppid() as u32 != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        let mut child = command.spawn().map_err(|e| format!("{}: {e}", program.display()))?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        while start.elapsed() < STARTUP {
            if let Ok((200, _)) = http(&endpoint, "GET", "/") {
                return Ok((endpoint, child));
            }
            if let Ok(Some(status)) = child.try_wait() {
                problems.push(format!("port {port}: moto_server exited ({status}); see {}", log_path.display()));
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if child.try_wait().ok().flatten().is_none() {
            let _ = child.kill();
            let _ = child.wait();
            problems.push(format!("port {port}: no answer in {STARTUP:?}; see {}", log_path.display()));
        }
    }
    Err(problems.join("; "))
}

/// One HTTP/1.1 request with an empty body, unsigned: the status and the whole response.
fn http(endpoint: &str, method: &str, path: &str) -> std::io::Result<(u16, String)> {
    let authority = endpoint.strip_prefix("http://").unwrap_or(endpoint);
    let mut stream = TcpStream::connect(authority)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok());
    match status {
        Some(status) => Ok((status, response)),
        None => Err(std::io::Error::other(format!("not an HTTP response: {response:?}"))),
    }
}
