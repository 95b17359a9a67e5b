//! pitwall-test-servers: the local servers pitwall's tests run against (moto's
//! `moto_server` for S3, fakesnow for Snowflake), installed by their `.ci/<name>` script,
//! started on a free port, killed when their owner ends; and [`binary`], the one way a
//! test runs one of the workspace's binaries. Shared by the integration tests of the
//! orchestrator, pitwall-snowflake and the layer crates.
//!
//! It owns starting and stopping those processes; it must never be a dependency of
//! anything but tests.

pub mod binary;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The workspace root (this crate is `crates/test-servers`).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the workspace exists")
}

/// How long a fresh server may take to answer (Python imports on a busy machine).
const STARTUP: Duration = Duration::from_secs(60);

/// A server process of a test's own, killed when dropped (or when the thread that
/// started it ends: `PR_SET_PDEATHSIG`).
pub struct Server {
    endpoint: String,
    child: Child,
}

impl Server {
    /// Starts `program` with `args(port)` on a free port of 127.0.0.1 and returns once it
    /// answers HTTP, trying a few ports (another process may take one between the probe
    /// and the bind).
    pub fn start(program: &Path, args: &dyn Fn(u16) -> Vec<String>) -> std::io::Result<Server> {
        Server::start_with_env(program, &[], args)
    }

    /// [`Server::start`] with `env` added to the server's environment.
    pub fn start_with_env(
        program: &Path,
        env: &[(String, String)],
        args: &dyn Fn(u16) -> Vec<String>,
    ) -> std::io::Result<Server> {
        let name = program.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let mut problems = Vec::new();
        for _ in 0..3 {
            let port = free_port()?;
            let log_path = std::env::temp_dir().join(format!("pitwall-{name}-{port}.log"));
            let mut command = Command::new(program);
            command.args(args(port)).envs(env.iter().map(|(k, v)| (k, v)));
            let mut child = spawn_tied(command, &log_path)?;
            let endpoint = format!("http://127.0.0.1:{port}");
            let start = Instant::now();
            while start.elapsed() < STARTUP {
                if http(&endpoint, "GET", "/").is_ok() {
                    return Ok(Server { endpoint, child });
                }
                if let Ok(Some(status)) = child.try_wait() {
                    problems.push(format!("port {port}: {name} exited ({status}); see {}", log_path.display()));
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
        Err(std::io::Error::other(problems.join("; ")))
    }

    /// Starts a server that lives as long as the test process: a thread that never ends
    /// starts it and keeps it (the death signal follows the starting thread, and test
    /// threads end). Returns its endpoint.
    pub fn start_for_process(program: &Path, args: fn(u16) -> Vec<String>) -> String {
        let (sender, receiver) = std::sync::mpsc::channel();
        let owned = program.to_path_buf();
        std::thread::Builder::new()
            .name(program.file_name().unwrap_or_default().to_string_lossy().into_owned())
            .spawn(move || match Server::start(&owned, &args) {
                Ok(server) => {
                    sender.send(Ok(server.endpoint.clone())).unwrap();
                    let _server = server;
                    loop {
                        std::thread::park();
                    }
                }
                Err(e) => sender.send(Err(e)).unwrap(),
            })
            .unwrap();
        receiver.recv().unwrap().unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()))
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Kills the server now (SIGKILL), as a crash or a pulled cable would end it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port free on 127.0.0.1 now (another process may take it before it is bound).
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Spawns `command` out of the checkout, its output into `log`, killed when the thread
/// that spawned it ends (`PR_SET_PDEATHSIG`): a test's server or cluster process.
pub fn spawn_tied(mut command: Command, log: &Path) -> std::io::Result<Child> {
    let file =
        std::fs::File::create(log).map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", log.display())))?;
    let parent = std::process::id();
    command
        // Out of the checkout: a server may write scratch files where it starts.
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file);
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
    command.spawn().map_err(|e| std::io::Error::new(e.kind(), format!("{:?}: {e}", command.get_program())))
}

/// `.ci/<script> install`, once per script and process (two servers must not race one
/// pip), then the path of `program` in the venv it made.
pub fn installed(script: &str, program: &str) -> PathBuf {
    static INSTALLED: Mutex<Vec<String>> = Mutex::new(Vec::new());
    static LOCK: OnceLock<Mutex<()>> = OnceLock::new();
    let _one_at_a_time = LOCK.get_or_init(|| Mutex::new(())).lock().unwrap();
    let mut installed = INSTALLED.lock().unwrap();
    if !installed.iter().any(|s| s == script) {
        let output =
            Command::new(workspace().join(".ci").join(script)).arg("install").output().expect("the script runs");
        assert!(
            output.status.success(),
            ".ci/{script} install failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        installed.push(script.to_owned());
    }
    workspace().join(program)
}

/// One HTTP/1.1 request with an empty body, unsigned: the status and the whole response.
pub fn http(endpoint: &str, method: &str, path: &str) -> std::io::Result<(u16, String)> {
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
