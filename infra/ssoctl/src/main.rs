use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    shared::telemetry::init_stderr();
    let cli = ssoctl::cli::Cli::parse();
    match ssoctl::cli::run(cli).await {
        Ok(Some(out)) => {
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            std::process::ExitCode::SUCCESS
        }
        Ok(None) => std::process::ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("ssoctl: {msg}");
            std::process::ExitCode::FAILURE
        }
    }
}
