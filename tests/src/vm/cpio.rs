//! The "newc" cpio format the kernel unpacks an initramfs from
//! (Documentation/driver-api/early-userspace/buffer-format.rst): per entry
//! a 110-byte ASCII header, the NUL-terminated name and the data, each
//! padded to 4 bytes; a `TRAILER!!!` entry ends the archive.

use std::io::{self, Write};

const MAGIC: &str = "070701";
const TRAILER: &str = "TRAILER!!!";

/// File type bits of `st_mode` (inode(7)).
pub(super) const S_IFDIR: u32 = 0o040_000;
pub(super) const S_IFREG: u32 = 0o100_000;
pub(super) const S_IFCHR: u32 = 0o020_000;

/// One archive member: `mode` carries type and permission bits, `rdev`
/// the (major, minor) of a device node, `data` a file's bytes.
pub(super) struct Member<'a> {
    pub name: &'a str,
    pub mode: u32,
    pub rdev: (u32, u32),
    pub data: &'a [u8],
}

/// Writes members one after another; [`Writer::finish`] adds the trailer.
pub(super) struct Writer<W: Write> {
    out: W,
    written: u64,
    next_ino: u32,
}

impl<W: Write> Writer<W> {
    pub(super) fn new(out: W) -> Self {
        Writer {
            out,
            written: 0,
            // 0 would look like "no inode" to some unpackers.
            next_ino: 1,
        }
    }

    pub(super) fn append(&mut self, member: &Member<'_>) -> io::Result<()> {
        let ino = self.next_ino;
        self.next_ino += 1;
        let nlink = if member.mode & S_IFDIR == S_IFDIR {
            2
        } else {
            1
        };
        self.header(member, ino, nlink)?;
        self.put(member.data)?;
        self.pad()
    }

    /// Ends the archive and returns the writer and the archive's size.
    pub(super) fn finish(mut self) -> io::Result<(W, u64)> {
        let trailer = Member {
            name: TRAILER,
            mode: 0,
            rdev: (0, 0),
            data: &[],
        };
        self.header(&trailer, 0, 1)?;
        self.out.flush()?;
        Ok((self.out, self.written))
    }

    fn header(&mut self, m: &Member<'_>, ino: u32, nlink: u32) -> io::Result<()> {
        let size = u32::try_from(m.data.len())
            .map_err(|_| io::Error::other(format!("{}: larger than 4 GiB", m.name)))?;
        let name_size = u32::try_from(m.name.len() + 1).map_err(io::Error::other)?;
        // ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
        // rdevmajor, rdevminor, namesize, check. Owner root, mtime 0 (the
        // same inputs give the same archive), no checksum (newc has none).
        let fields = [
            ino, m.mode, 0, 0, nlink, 0, size, 0, 0, m.rdev.0, m.rdev.1, name_size, 0,
        ];
        let mut header = String::with_capacity(110);
        header.push_str(MAGIC);
        for field in fields {
            header.push_str(&format!("{field:08x}"));
        }
        self.put(header.as_bytes())?;
        self.put(m.name.as_bytes())?;
        self.put(&[0])?;
        self.pad()
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn pad(&mut self) -> io::Result<()> {
        let fill = (4 - self.written % 4) % 4;
        self.put(&[0; 3][..fill as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One directory, one file and the trailer, byte for byte.
    #[test]
    fn golden_archive() {
        let mut w = Writer::new(Vec::new());
        w.append(&Member {
            name: "bin",
            mode: S_IFDIR | 0o755,
            rdev: (0, 0),
            data: &[],
        })
        .expect("dir");
        w.append(&Member {
            name: "bin/hi",
            mode: S_IFREG | 0o644,
            rdev: (0, 0),
            data: b"hello",
        })
        .expect("file");
        let (bytes, size) = w.finish().expect("finish");
        let expected = concat!(
            "070701",
            "00000001000041ed0000000000000000000000020000000000000000",
            "000000000000000000000000000000000000000400000000",
            "bin\0\0\0", // 110 + 4 = 114, padded to 116
            "070701",
            "00000002000081a40000000000000000000000010000000000000005",
            "000000000000000000000000000000000000000700000000",
            "bin/hi\0\0\0\0", // 110 + 7 = 117, padded to 120
            "hello\0\0\0",
            "070701",
            "00000000000000000000000000000000000000010000000000000000",
            "000000000000000000000000000000000000000b00000000",
            "TRAILER!!!\0\0\0\0",
        );
        assert_eq!(String::from_utf8_lossy(&bytes), expected);
        assert_eq!(size, bytes.len() as u64);
        assert_eq!(size % 4, 0);
    }

    #[test]
    fn device_node_carries_rdev() {
        let mut w = Writer::new(Vec::new());
        w.append(&Member {
            name: "dev/console",
            mode: S_IFCHR | 0o600,
            rdev: (5, 1),
            data: &[],
        })
        .expect("node");
        let (bytes, _) = w.finish().expect("finish");
        let header = String::from_utf8_lossy(&bytes[..110]).into_owned();
        // Fields 10 and 11 (rdevmajor, rdevminor) start at 6 + 9 * 8.
        assert_eq!(&header[78..94], "0000000500000001", "{header}");
    }
}
