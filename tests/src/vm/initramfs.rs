//! The VM's root filesystem as a tree of entries, written out as one newc
//! cpio archive. Parents are added implicitly and written before their
//! children, as the kernel's unpacker needs.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::cpio::{Member, Writer, S_IFCHR, S_IFDIR, S_IFREG};

/// Where a file's bytes come from.
#[derive(Debug, Clone)]
pub(super) enum Source {
    /// Read from this host path when the archive is written.
    Host(PathBuf),
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone)]
enum Entry {
    Dir,
    File { source: Source, mode: u32 },
    CharDevice { major: u32, minor: u32 },
}

/// A root filesystem to be: guest path (relative, no `..`) -> entry.
#[derive(Debug, Default)]
pub(super) struct Initramfs {
    entries: BTreeMap<PathBuf, Entry>,
}

impl Initramfs {
    pub(super) fn dir(&mut self, guest: &str) -> Result<()> {
        self.insert(guest, Entry::Dir)
    }

    /// A regular file; a later call for the same path replaces it.
    pub(super) fn file(&mut self, guest: &str, source: Source, mode: u32) -> Result<()> {
        self.insert(guest, Entry::File { source, mode })
    }

    pub(super) fn char_device(&mut self, guest: &str, major: u32, minor: u32) -> Result<()> {
        self.insert(guest, Entry::CharDevice { major, minor })
    }

    /// Whether `guest` was added (as anything).
    pub(super) fn contains(&self, guest: &str) -> bool {
        relative(guest).is_ok_and(|p| self.entries.contains_key(&p))
    }

    fn insert(&mut self, guest: &str, entry: Entry) -> Result<()> {
        let path = relative(guest)?;
        for parent in path.ancestors().skip(1) {
            if parent.as_os_str().is_empty() {
                break;
            }
            match self.entries.get(parent) {
                None => {
                    self.entries.insert(parent.to_path_buf(), Entry::Dir);
                }
                Some(Entry::Dir) => {}
                Some(_) => bail!("{guest}: {} is not a directory", parent.display()),
            }
        }
        if matches!(entry, Entry::Dir) && self.entries.contains_key(&path) {
            return Ok(());
        }
        self.entries.insert(path, entry);
        Ok(())
    }

    /// Writes the archive to `out`; returns its size in bytes.
    pub(super) fn write(&self, out: &Path) -> Result<u64> {
        let file = File::create(out).with_context(|| format!("create {}", out.display()))?;
        let mut writer = Writer::new(BufWriter::new(file));
        // BTreeMap order puts `a` before `a/b`: parents come first.
        for (path, entry) in &self.entries {
            let name = path.to_str().context("guest paths are UTF-8")?;
            let (mode, rdev, data) = match entry {
                Entry::Dir => (S_IFDIR | 0o755, (0, 0), Vec::new()),
                Entry::File { source, mode } => (S_IFREG | mode, (0, 0), read(source)?),
                Entry::CharDevice { major, minor } => (S_IFCHR | 0o600, (*major, *minor), vec![]),
            };
            let member = Member {
                name,
                mode,
                rdev,
                data: &data,
            };
            writer
                .append(&member)
                .with_context(|| format!("write {name} to {}", out.display()))?;
        }
        let (_, size) = writer
            .finish()
            .with_context(|| format!("finish {}", out.display()))?;
        Ok(size)
    }
}

fn read(source: &Source) -> Result<Vec<u8>> {
    match source {
        Source::Host(path) => {
            std::fs::read(path).with_context(|| format!("read {}", path.display()))
        }
        Source::Bytes(bytes) => Ok(bytes.clone()),
    }
}

/// `/a/b` -> `a/b`; refuses `..` and empty paths.
fn relative(guest: &str) -> Result<PathBuf> {
    let mut path = PathBuf::new();
    for component in Path::new(guest).components() {
        match component {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(part) => path.push(part),
            Component::ParentDir | Component::Prefix(_) => {
                bail!("guest path {guest:?} must not leave the root")
            }
        }
    }
    if path.as_os_str().is_empty() {
        bail!("empty guest path {guest:?}");
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_are_implicit_and_written_first() {
        let mut fs = Initramfs::default();
        fs.file("/usr/bin/tool", Source::Bytes(b"x".to_vec()), 0o755)
            .expect("file");
        fs.dir("usr").expect("dir again");
        let order: Vec<_> = fs.entries.keys().map(|p| p.display().to_string()).collect();
        assert_eq!(order, ["usr", "usr/bin", "usr/bin/tool"]);
        assert!(fs.contains("/usr/bin/tool"));
    }

    #[test]
    fn refuses_escapes_and_files_as_parents() {
        let mut fs = Initramfs::default();
        assert!(fs.dir("/../etc").is_err());
        assert!(fs.dir("/").is_err());
        fs.file("a", Source::Bytes(Vec::new()), 0o644)
            .expect("file");
        assert!(fs.dir("a/b").is_err());
    }

    #[test]
    fn writes_an_archive_cpio_can_list() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut fs = Initramfs::default();
        fs.file("/bin/hello", Source::Bytes(b"hi\n".to_vec()), 0o755)
            .expect("file");
        fs.char_device("/dev/console", 5, 1).expect("dev");
        let out = dir.path().join("initramfs.cpio");
        let size = fs.write(&out).expect("write");
        assert_eq!(size, std::fs::metadata(&out).expect("stat").len());
        if crate::needs::on_path("busybox") {
            let listing = crate::exec::run_ok(
                std::process::Command::new("busybox")
                    .args(["cpio", "-t", "-F"])
                    .arg(&out),
            );
            assert_eq!(listing, "bin\nbin/hello\ndev\ndev/console\n");
        }
    }
}
