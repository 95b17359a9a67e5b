fn main() -> std::process::ExitCode {
    pitwall_cli::init();
    let invocation = orchestrator::cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    pitwall_cli::exit_code(runtime.block_on(orchestrator::commands::dispatch(invocation)))
}
