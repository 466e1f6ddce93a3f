//! The test list and its runner: turns [`Case`]s into libtest-mimic trials,
//! marks those whose [`Need`]s are unmet as ignored (so `cargo test` and
//! `cargo nextest run` count them as skipped), and sweeps leftovers of
//! crashed runs before running anything.

use std::process::ExitCode;

use libtest_mimic::{Arguments, Trial};

use crate::needs::{first_unmet, Need};
use crate::sweep::sweep_dead_owners;

/// One end-to-end test: a name, what it needs, and a body that panics on
/// failure.
#[derive(Clone, Copy)]
pub struct Case {
    pub name: &'static str,
    pub needs: &'static [Need],
    pub body: fn(),
}

/// Shorthand for building a [`Case`].
pub const fn case(name: &'static str, needs: &'static [Need], body: fn()) -> Case {
    Case { name, needs, body }
}

/// A module's cases, named `module::case` in the test list.
pub struct Group {
    pub module: &'static str,
    pub cases: Vec<Case>,
}

/// Builds one trial; ignored (with the reason returned) when a need is unmet.
pub fn trial(module: &str, case: Case) -> (Trial, Option<String>) {
    let reason = first_unmet(case.needs);
    let body = case.body;
    let trial = Trial::test(format!("{module}::{}", case.name), move || {
        body();
        Ok(())
    })
    .with_ignored_flag(reason.is_some());
    (trial, reason)
}

/// Entry point of the `e2e` test binary.
pub fn run_groups(groups: Vec<Group>) -> ExitCode {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    let mut skipped = Vec::new();
    for group in groups {
        for case in group.cases {
            let (trial, reason) = trial(group.module, case);
            if let Some(reason) = reason {
                if !args.is_filtered_out(&trial) {
                    skipped.push((trial.name().to_string(), reason));
                }
            }
            trials.push(trial);
        }
    }
    if !args.list {
        for (name, reason) in &skipped {
            eprintln!("cnm-tests: SKIPPED {name}: {reason}");
        }
        if first_unmet(&[Need::Root]).is_none() {
            sweep_dead_owners();
        }
    }
    libtest_mimic::run(&args, trials).exit_code()
}
