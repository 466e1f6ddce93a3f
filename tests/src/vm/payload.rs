//! Host programs made ready for the VM: debug info stripped (a debug cnmd is
//! 160 MB, 30 MB without it) and every shared library `ldd` names copied to
//! the same path in the guest, so dynamically linked debug builds run there
//! unchanged.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Result};

use crate::exec::run;

/// A copy of `program` without debug sections, in `scratch`; the original
/// when `strip` is missing or fails (bigger image, same behaviour). Symbols
/// stay, so panics in the VM still show function names.
pub(super) fn stripped(program: &Path, scratch: &Path) -> PathBuf {
    let Some(name) = program.file_name() else {
        return program.to_path_buf();
    };
    let out = scratch.join(name);
    let result = run(Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(&out)
        .arg(program));
    if result.success() {
        out
    } else {
        eprintln!(
            "cnm-tests: vm: not stripping {}: {result}",
            program.display()
        );
        program.to_path_buf()
    }
}

/// The shared libraries `program` loads, as absolute host paths (the
/// dynamic loader included); empty for a static program.
pub(super) fn shared_libraries(program: &Path) -> Result<Vec<PathBuf>> {
    let out = run(Command::new("ldd").arg(program));
    let text = format!("{}{}", out.stdout, out.stderr);
    if text.contains("not a dynamic executable") || text.contains("statically linked") {
        return Ok(Vec::new());
    }
    if !out.success() {
        bail!("ldd {}: {out}", program.display());
    }
    let libraries = parse_ldd(&out.stdout);
    if let Some(missing) = out.stdout.lines().find(|l| l.contains("not found")) {
        bail!("{}: library {}", program.display(), missing.trim());
    }
    Ok(libraries)
}

/// Paths from ldd lines such as `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6
/// (0x…)` and `/lib64/ld-linux-x86-64.so.2 (0x…)`; the vDSO has no file.
fn parse_ldd(stdout: &str) -> Vec<PathBuf> {
    stdout
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let path = line
                .split_once("=>")
                .map_or(line, |(_, right)| right.trim());
            let path = path.split_whitespace().next()?;
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ldd_output() {
        let out = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                   \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f76)\n\
                   \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f76)\n\
                   \t/lib64/ld-linux-x86-64.so.2 (0x00007f76)\n";
        assert_eq!(
            parse_ldd(out),
            [
                PathBuf::from("/lib/x86_64-linux-gnu/libgcc_s.so.1"),
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
            ]
        );
    }

    #[test]
    fn dynamic_program_lists_libc_and_loader() {
        let libs = shared_libraries(Path::new("/bin/sh")).expect("ldd /bin/sh");
        let names: Vec<_> = libs.iter().map(|l| l.to_string_lossy()).collect();
        assert!(names.iter().any(|l| l.contains("libc.so")), "{names:?}");
        assert!(names.iter().any(|l| l.contains("ld-linux")), "{names:?}");
    }
}
