//! `cnm-shim`: the per-container parent process. All logic lives in the
//! library (`cnm_runtime::shim`), which the runtime's tests exercise too.

fn main() -> std::process::ExitCode {
    cnm_runtime::shim::main()
}
