//! cnm-cni: a CNI 1.1 plugin (ADD, DEL, CHECK, STATUS, GC, VERSION) and an
//! OCI runtime hook, both forwarding to cnmd over its gRPC socket, so
//! containers of other runtimes share IPAM, DNS names, published ports and
//! isolation with everything else cnm wires.
//!
//! Spawned once per container: startup stays lean (one current-thread
//! runtime, one connection, no logging setup).

mod commands;
mod daemon;
mod hook;
mod netns;
mod spec;

use std::io::{Read, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use spec::config::version_hint;
use spec::{code, CniEnv, CniError, Command, NetConf, CURRENT};

/// Without a subcommand cnm-cni is a CNI plugin: the verb comes in
/// CNI_COMMAND and the network configuration on stdin.
#[derive(Debug, Parser)]
#[command(name = "cnm-cni", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// OCI runtime hook: wire the container (createRuntime, prestart) or
    /// unwire it (poststop); the container state comes on stdin
    OciHook(hook::HookArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Some(Sub::OciHook(args)) => match hook::main(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("cnm-cni oci-hook: {err:#}");
                ExitCode::FAILURE
            }
        },
        None => plugin(),
    }
}

/// One CNI invocation: a result or nothing on stdout and exit 0, or the
/// spec's error JSON on stdout and exit 1.
fn plugin() -> ExitCode {
    let env = match CniEnv::load(|name| std::env::var(name).ok()) {
        Ok(env) => env,
        Err(err) => return fail(&err, CURRENT),
    };
    if env.command == Command::Version {
        return print(&commands::version_info().to_string());
    }
    let mut input = Vec::new();
    if let Err(err) = std::io::stdin().read_to_end(&mut input) {
        let err = CniError::new(
            code::IO_FAILURE,
            format!("cannot read the network configuration from stdin: {err}"),
        );
        return fail(&err, CURRENT);
    }
    let conf = match NetConf::parse(&input) {
        Ok(conf) => conf,
        Err(err) => return fail(&err, &version_hint(&input)),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            let err = CniError::new(code::IO_FAILURE, format!("cannot start: {err}"));
            return fail(&err, &conf.cni_version);
        }
    };
    match runtime.block_on(commands::run(&env, &conf)) {
        Ok(Some(result)) => print(&result.to_string()),
        Ok(None) => ExitCode::SUCCESS,
        Err(err) => fail(&err, &conf.cni_version),
    }
}

fn print(json: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{json}").and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

fn fail(err: &CniError, cni_version: &str) -> ExitCode {
    let _ = print(&err.to_json(cni_version));
    ExitCode::FAILURE
}
