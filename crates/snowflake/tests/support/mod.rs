//! A local Snowflake emulator for the integration tests: fakesnow's server
//! (`.ci/snowflake-server`).
//!
//! The server is `PITWALL_TEST_SNOWFLAKE_ENDPOINT` when set (e.g. `http://127.0.0.1:PORT`,
//! started by CI for the whole run); otherwise this process installs fakesnow into
//! `target/venv-sf` (`.ci/snowflake-server install`) and runs its own
//! `target/venv-sf/bin/fakesnow -s`, once, killed when the test process ends.

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long a fresh fakesnow may take to answer (Python imports on a busy machine).
const STARTUP: Duration = Duration::from_secs(60);

/// The repository root.
pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The emulator's endpoint, `http://127.0.0.1:PORT`.
pub(crate) fn endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| match std::env::var("PITWALL_TEST_SNOWFLAKE_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => endpoint.trim_end_matches('/').to_owned(),
        _ => spawn_fakesnow(),
    })
}

/// A port nothing listens on (bound, then released).
pub(crate) fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `.ci/snowflake-server install`, then the fakesnow program.
fn fakesnow_program() -> PathBuf {
    let output = Command::new(workspace().join(".ci/snowflake-server"))
        .arg("install")
        .output()
        .expect(".ci/snowflake-server runs");
    assert!(
        output.status.success(),
        ".ci/snowflake-server install failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    workspace().join("target/venv-sf/bin/fakesnow")
}

/// Starts a fakesnow server of this process's own and returns its endpoint once it
/// answers. The server is killed when this process ends (`PR_SET_PDEATHSIG`); that signal
/// follows the thread that spawned the child, so a thread that never ends spawns it and
/// keeps its handle.
fn spawn_fakesnow() -> String {
    let program = fakesnow_program();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("fakesnow".into())
        .spawn(move || match start_fakesnow(&program) {
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
    receiver.recv().unwrap().unwrap_or_else(|e| panic!("cannot start fakesnow: {e}"))
}

/// Tries a few free ports (another process may take one between the probe and the bind).
fn start_fakesnow(program: &Path) -> Result<(String, Child), String> {
    let mut problems = Vec::new();
    for _ in 0..3 {
        let port = closed_port();
        let log_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fakesnow-{port}.log"));
        let log = std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let parent = std::process::id();
        let mut command = Command::new(program);
        command
            .args(["-s", "-p", &port.to_string()])
            .current_dir(std::env::temp_dir())
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
        let start = Instant::now();
        while start.elapsed() < STARTUP {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok((format!("http://127.0.0.1:{port}"), child));
            }
            if let Ok(Some(status)) = child.try_wait() {
                problems.push(format!("port {port}: fakesnow exited ({status}); see {}", log_path.display()));
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
