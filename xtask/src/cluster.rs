//! `cargo xtask cluster up`: a local Ballista cluster for development, from a built
//! pitwall: one `pitwall cluster scheduler` and N `pitwall cluster executor` processes
//! on 127.0.0.1, each executor's work folder under `target/cluster/`, until Ctrl-C
//! (which reaches the whole process group).

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The scheduler's port; executor k listens on 50051 + 2k (Flight) and the next port (gRPC).
const SCHEDULER_PORT: u16 = 50050;

struct Options {
    executors: u16,
    bin: Option<PathBuf>,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut options = Options { executors: 2, bin: None };
    let mut args = args.iter();
    match args.next().map(String::as_str) {
        Some("up") => {}
        other => bail!("cargo xtask cluster up [--executors N] [--bin PATH] (got {other:?})"),
    }
    while let Some(arg) = args.next() {
        let value = args.next().with_context(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--executors" => options.executors = value.parse().with_context(|| format!("--executors {value}"))?,
            "--bin" => options.bin = Some(PathBuf::from(value)),
            other => bail!("unknown option {other} (cluster up takes --executors N, --bin PATH)"),
        }
    }
    if options.executors == 0 {
        bail!("--executors must be at least 1");
    }
    Ok(options)
}

pub(crate) fn main(args: Vec<String>, root: &Path) -> Result<()> {
    let options = parse(&args)?;
    let pitwall = match options.bin {
        Some(bin) => bin,
        None => crate::build_release(root)?,
    };
    let work = root.join("target/cluster");
    let scheduler = format!("127.0.0.1:{SCHEDULER_PORT}");
    let mut children = vec![spawn(Command::new(&pitwall).args(["cluster", "scheduler", "--bind", &scheduler]))?];
    wait_for(&scheduler, Duration::from_secs(30))?;
    for k in 0..options.executors {
        let flight = SCHEDULER_PORT + 1 + 2 * k;
        let dir = work.join(format!("executor-{k}"));
        children.push(spawn(Command::new(&pitwall).args(["cluster", "executor", "--scheduler", &scheduler]).args([
            "--port",
            &flight.to_string(),
            "--grpc-port",
            &(flight + 1).to_string(),
            "--work-dir",
            dir.to_str().context("a UTF-8 work folder")?,
        ]))?);
    }
    println!("A scheduler and {} executor(s) on 127.0.0.1: pitwall build --engine df://{scheduler}", options.executors);
    println!("pitwall cluster status --scheduler {scheduler}; Ctrl-C stops them");
    for mut child in children {
        child.wait()?;
    }
    Ok(())
}

fn spawn(command: &mut Command) -> Result<Child> {
    command.spawn().with_context(|| format!("cannot start {command:?}"))
}

/// Until `address` accepts connections.
fn wait_for(address: &str, limit: Duration) -> Result<()> {
    let started = Instant::now();
    while std::net::TcpStream::connect(address).is_err() {
        if started.elapsed() > limit {
            bail!("the scheduler did not listen on {address} within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn up_takes_the_executor_count_and_a_binary() {
        let options = parse(&args("up --executors 3 --bin /x/pitwall")).unwrap();
        assert_eq!((options.executors, options.bin), (3, Some(PathBuf::from("/x/pitwall"))));
        assert_eq!(parse(&args("up")).unwrap().executors, 2);
        assert!(parse(&args("down")).is_err());
        assert!(parse(&args("up --executors 0")).is_err());
    }
}
