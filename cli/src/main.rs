//! `cnm`: the command line client of cnmd. Commands, flags and output follow
//! `docker network …`; everything talks gRPC (`cnm.v1`) over cnmd's unix
//! socket, or over TCP with mutual TLS.

mod bridge;
mod client;
mod completion;
mod container;
mod error;
mod filter;
mod keyvalue;
mod man;
mod network;
mod output;
mod port;
mod system;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Command line of `cnm`.
#[derive(Debug, Parser)]
#[command(
    name = "cnm",
    version,
    about = "Command line client of cnmd, the container networking daemon"
)]
struct Cli {
    /// Daemon to connect to: unix://PATH, or tcp://HOST:PORT with --tlsverify
    #[arg(
        short = 'H',
        long,
        env = "CNM_HOST",
        hide_env_values = true,
        default_value = client::DEFAULT_HOST,
        value_name = "HOST",
        global = true
    )]
    host: String,

    #[command(flatten)]
    tls: client::TlsFlags,

    /// Set the logging level (accepted for Docker compatibility; unused)
    #[arg(
        short = 'l',
        long,
        value_name = "LEVEL",
        default_value = "info",
        value_parser = ["debug", "info", "warn", "error", "fatal"],
        global = true
    )]
    log_level: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once per process; boxing would only add an allocation"
)]
enum Command {
    /// Manage networks
    #[command(visible_alias = "net")]
    Network {
        #[command(subcommand)]
        command: network::NetworkCommand,
    },
    /// Manage cnmd
    System {
        #[command(subcommand)]
        command: system::SystemCommand,
    },
    /// Show the Linux bridges of cnmd's host, as brctl does
    Bridge {
        #[command(subcommand)]
        command: bridge::BridgeCommand,
    },
    /// List the published ports of a container or network namespace
    Port(port::PortArgs),
    /// Print a shell completion script (bash, zsh, fish, …)
    Completion(completion::CompletionArgs),
    /// Write man pages (or, with --markdown, the CLI reference)
    Man(man::ManArgs),
    /// Show the cnm version information
    Version,
    #[command(flatten)]
    Container(container::ContainerCommand),
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Nothing logs yet; the flag exists so Docker-style invocations parse.
    let _ = cli.log_level;
    client::set_tls(cli.tls.resolve_from_env());
    let result = match cli.command {
        Command::Network { command } => network::run(command, &cli.host).await,
        Command::System { command } => system::run(command, &cli.host).await,
        Command::Bridge { command } => bridge::run(command, &cli.host).await,
        Command::Port(args) => port::run(args, &cli.host).await,
        Command::Completion(args) => completion::run(args, Cli::command()),
        Command::Man(args) => man::run(args, Cli::command()),
        Command::Version => system::version(&cli.host).await,
        Command::Container(command) => return container::run(command, &cli.host).await,
    };
    error::exit_code(result)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn net_is_an_alias_of_network() {
        let cli = Cli::try_parse_from(["cnm", "net", "ls", "-q"]).expect("parses");
        assert!(matches!(cli.command, Command::Network { .. }));
    }

    #[test]
    fn bash_completion_covers_the_subcommands() {
        let mut script = Vec::new();
        clap_complete::generate(
            clap_complete::Shell::Bash,
            &mut Cli::command(),
            "cnm",
            &mut script,
        );
        let script = String::from_utf8(script).expect("utf-8");
        for word in [
            "network",
            "bridge",
            "showstp",
            "events",
            "completion",
            "--filter",
        ] {
            assert!(script.contains(word), "no {word} in the bash completion");
        }
    }

    #[test]
    fn tls_flags_are_global() {
        let cli = Cli::try_parse_from([
            "cnm",
            "net",
            "ls",
            "--tlsverify",
            "--tlscacert",
            "/c/ca.pem",
        ])
        .expect("parses");
        assert!(cli.tls.tlsverify);
        assert_eq!(cli.tls.tlscacert, Some("/c/ca.pem".into()));
    }

    #[test]
    fn host_may_follow_the_subcommand() {
        let cli =
            Cli::try_parse_from(["cnm", "net", "ls", "-H", "unix:///tmp/x.sock"]).expect("parses");
        assert_eq!(cli.host, "unix:///tmp/x.sock");
    }
}
