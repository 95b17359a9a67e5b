//! A binary of the workspace run by a test as a user runs it: from the workspace root,
//! with none of the test process's `PITWALL_*` variables, so a test says everything its
//! run reads.

use std::process::{Command, Output};

use crate::workspace;

/// `program` (a test's `env!("CARGO_BIN_EXE_<name>")`) to run from the workspace root,
/// without this process's `PITWALL_*` variables.
pub fn command(program: &str) -> Command {
    let mut command = Command::new(program);
    command.current_dir(workspace());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PITWALL_") {
            command.env_remove(name);
        }
    }
    command
}

/// Runs `command` to its end.
pub fn run(command: &mut Command) -> Run {
    let program = command.get_program().to_string_lossy().into_owned();
    Run::from(command.output().unwrap_or_else(|e| panic!("{program} runs: {e}")))
}

/// What a finished run printed, and how it ended.
pub struct Run {
    pub output: Output,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.output.status.success()
    }

    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    /// Standard output, then standard error.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            output,
        }
    }
}
