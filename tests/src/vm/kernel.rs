//! The kernel the VM boots, as `dev/vm-kernel` leaves it: `vmlinuz`,
//! `release`, and `lib/modules/RELEASE/` with plain `.ko` files and a
//! modules.dep listing every module's full dependency chain.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// What a user runs to get the kernel.
pub const FETCH_HINT: &str = "run `dev/vm-kernel` (dev/test does)";

/// A fetched kernel and its modules.
#[derive(Debug, Clone)]
pub struct VmKernel {
    dir: PathBuf,
    release: String,
}

impl VmKernel {
    /// The kernel in `CNM_VM_KERNEL` if set, else in `target/vm/kernel` of
    /// the running test's target dir; `Err` says why not.
    pub fn find() -> Result<VmKernel, String> {
        let dirs = candidates();
        let dir = dirs
            .iter()
            .find(|d| d.join("vmlinuz").is_file() && d.join("release").is_file())
            .ok_or_else(|| {
                let looked: Vec<_> = dirs.iter().map(|d| d.display().to_string()).collect();
                format!(
                    "no VM kernel (looked in {}): {FETCH_HINT}",
                    looked.join(", ")
                )
            })?;
        let release = std::fs::read_to_string(dir.join("release"))
            .map_err(|e| format!("{}: {e}", dir.join("release").display()))?
            .trim()
            .to_string();
        Ok(VmKernel {
            dir: dir.clone(),
            release,
        })
    }

    /// The bootable image.
    pub fn vmlinuz(&self) -> PathBuf {
        self.dir.join("vmlinuz")
    }

    /// `uname -r` inside the VM.
    pub fn release(&self) -> &str {
        &self.release
    }

    /// `lib/modules/RELEASE` on this host; the same path, from `/`, in the VM.
    pub fn modules_dir(&self) -> PathBuf {
        self.dir.join("lib/modules").join(&self.release)
    }

    /// The module files (relative to [`VmKernel::modules_dir`]) that `names`
    /// need, dependencies included. A name built into the kernel needs no
    /// file; a name the kernel does not know is an error.
    pub fn module_files(&self, names: &[String]) -> Result<BTreeSet<PathBuf>> {
        let dir = self.modules_dir();
        let dep_path = dir.join("modules.dep");
        let dep = std::fs::read_to_string(&dep_path)
            .with_context(|| format!("read {}", dep_path.display()))?;
        let builtin = std::fs::read_to_string(dir.join("modules.builtin")).unwrap_or_default();
        let mut files = BTreeSet::new();
        for name in names {
            if let Some(chain) = dependency_chain(&dep, name) {
                files.extend(chain.into_iter().map(PathBuf::from));
            } else if !builtin.lines().any(|l| module_name(l) == normalize(name)) {
                bail!("kernel {} has no module `{name}`", self.release);
            }
        }
        Ok(files)
    }

    /// The names of the modules whose files lie under `dir` (relative to
    /// [`VmKernel::modules_dir`]); an error when there are none.
    pub fn modules_under(&self, dir: &str) -> Result<Vec<String>> {
        let dep_path = self.modules_dir().join("modules.dep");
        let dep = std::fs::read_to_string(&dep_path)
            .with_context(|| format!("read {}", dep_path.display()))?;
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        let names: Vec<String> = dep
            .lines()
            .filter_map(|line| line.split_once(':'))
            .filter(|(path, _)| path.starts_with(&prefix))
            .map(|(path, _)| module_name(path))
            .collect();
        if names.is_empty() {
            bail!("kernel {} has no modules under {dir}", self.release);
        }
        Ok(names)
    }
}

fn candidates() -> Vec<PathBuf> {
    if let Some(d) = std::env::var_os("CNM_VM_KERNEL") {
        return vec![PathBuf::from(d)];
    }
    let mut dirs = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        // target/debug/deps/e2e-HASH -> target
        if let Some(target) = exe.ancestors().nth(3) {
            dirs.push(target.join("vm/kernel"));
        }
    }
    if let Some(d) = std::env::var_os("CARGO_TARGET_DIR") {
        dirs.push(PathBuf::from(d).join("vm/kernel"));
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/vm/kernel"));
    dirs
}

/// `name`'s line of modules.dep (`path: dep dep …`, dependencies already
/// transitive, as depmod writes them): the module's path and its deps.
fn dependency_chain<'a>(dep: &'a str, name: &str) -> Option<Vec<&'a str>> {
    let wanted = normalize(name);
    dep.lines().find_map(|line| {
        let (path, deps) = line.split_once(':')?;
        (module_name(path) == wanted).then(|| {
            std::iter::once(path)
                .chain(deps.split_whitespace())
                .collect()
        })
    })
}

/// `kernel/net/foo-bar.ko` -> `foo_bar`: the kernel treats `-` and `_` alike.
fn module_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    normalize(file.strip_suffix(".ko").unwrap_or(file))
}

fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEP: &str = "\
kernel/drivers/net/ipvlan/ipvlan.ko:
kernel/net/netfilter/nft_chain_nat.ko: kernel/net/netfilter/nf_tables.ko kernel/net/netfilter/nf_nat.ko
kernel/fs/overlayfs/overlay.ko:
";

    #[test]
    fn chain_lists_module_then_deps() {
        assert_eq!(
            dependency_chain(DEP, "nft-chain-nat"),
            Some(vec![
                "kernel/net/netfilter/nft_chain_nat.ko",
                "kernel/net/netfilter/nf_tables.ko",
                "kernel/net/netfilter/nf_nat.ko",
            ])
        );
        assert_eq!(
            dependency_chain(DEP, "ipvlan"),
            Some(vec!["kernel/drivers/net/ipvlan/ipvlan.ko"])
        );
        assert_eq!(dependency_chain(DEP, "nf_tab"), None);
    }

    #[test]
    fn module_files_knows_builtins_and_refuses_unknown() {
        let dir = tempfile::tempdir().expect("tempdir");
        let modules = dir.path().join("lib/modules/6.1.0-test");
        std::fs::create_dir_all(&modules).expect("mkdir");
        std::fs::write(modules.join("modules.dep"), DEP).expect("dep");
        std::fs::write(modules.join("modules.builtin"), "kernel/net/veth.ko\n").expect("builtin");
        let kernel = VmKernel {
            dir: dir.path().to_path_buf(),
            release: "6.1.0-test".into(),
        };
        let files = kernel
            .module_files(&["overlay".into(), "veth".into()])
            .expect("files");
        assert_eq!(
            files.into_iter().collect::<Vec<_>>(),
            [PathBuf::from("kernel/fs/overlayfs/overlay.ko")]
        );
        let err = kernel.module_files(&["nope".into()]).expect_err("unknown");
        assert!(err.to_string().contains("`nope`"), "{err}");
        assert_eq!(
            kernel.modules_under("kernel/net/").expect("under"),
            ["nft_chain_nat"]
        );
        assert!(kernel.modules_under("kernel/sound").is_err());
    }
}
