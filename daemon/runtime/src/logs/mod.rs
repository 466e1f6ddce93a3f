//! Container logs: the json-file format the shim writes, and `LogReader`,
//! which reads it back (optionally following until the container exited).

mod json_file;
mod timestamp;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

pub(crate) use json_file::LogWriter;
pub use json_file::{LogEntry, Stream};

use crate::state::ProcessId;

/// How often a following reader looks for new records.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(100);

/// Reads a container's log records in order.
pub struct LogReader {
    reader: BufReader<File>,
    /// A line read without its newline yet (the shim is mid-write).
    partial: String,
    /// Stop after this many bytes (an attach replays up to an offset).
    limit: Option<u64>,
    consumed: u64,
    follow: Option<Follow>,
}

/// What a following reader watches to know the container is done: the
/// exit record (written after the last log record) or the shim's death.
struct Follow {
    exit_record: PathBuf,
    shim: Option<ProcessId>,
    draining: bool,
}

impl LogReader {
    pub(crate) fn open(path: &std::path::Path) -> io::Result<Self> {
        Ok(Self {
            reader: BufReader::new(File::open(path)?),
            partial: String::new(),
            limit: None,
            consumed: 0,
            follow: None,
        })
    }

    /// Reads from `offset` (the start of a record) on; limits stay
    /// absolute offsets in the file.
    pub(crate) fn open_at(path: &std::path::Path, offset: u64) -> io::Result<Self> {
        let mut file = File::open(path)?;
        file.seek(SeekFrom::Start(offset))?;
        Ok(Self {
            reader: BufReader::new(file),
            partial: String::new(),
            limit: None,
            consumed: offset,
            follow: None,
        })
    }

    pub(crate) fn with_limit(mut self, limit: u64) -> Self {
        self.limit = Some(limit);
        self
    }

    pub(crate) fn following(mut self, exit_record: PathBuf, shim: Option<ProcessId>) -> Self {
        self.follow = Some(Follow {
            exit_record,
            shim,
            draining: false,
        });
        self
    }

    fn read_line(&mut self) -> io::Result<Option<String>> {
        loop {
            if self.limit.is_some_and(|l| self.consumed >= l) {
                return Ok(None);
            }
            let n = self.reader.read_line(&mut self.partial)?;
            self.consumed += n as u64;
            if self.partial.ends_with('\n') {
                return Ok(Some(std::mem::take(&mut self.partial)));
            }
            let Some(follow) = &mut self.follow else {
                return Ok(None);
            };
            if follow.draining {
                return Ok(None);
            }
            let done = follow.exit_record.exists() || follow.shim.is_some_and(|s| !s.is_alive());
            if done {
                // One more pass: the shim writes its last records before
                // the exit record.
                follow.draining = true;
            } else {
                thread::sleep(FOLLOW_INTERVAL);
            }
        }
    }
}

impl Iterator for LogReader {
    type Item = io::Result<LogEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.read_line() {
            Ok(Some(line)) => Some(json_file::decode(&line)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::time::SystemTime;

    use super::json_file::encode;
    use super::*;

    #[test]
    fn reader_stops_at_limit_and_waits_for_whole_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("container.log");
        let first = encode(Stream::Stdout, b"a\n", SystemTime::now());
        let second = encode(Stream::Stderr, b"b\n", SystemTime::now());
        let mut f = File::create(&path).expect("create");
        f.write_all(&first).expect("w");
        f.write_all(&second[..10]).expect("half");
        let all: Vec<_> = LogReader::open(&path).expect("open").collect();
        assert_eq!(all.len(), 1, "the half line is not a record yet");
        f.write_all(&second[10..]).expect("rest");
        let limited: Vec<_> = LogReader::open(&path)
            .expect("open")
            .with_limit(first.len() as u64)
            .collect();
        assert_eq!(limited.len(), 1);
        let exit = dir.path().join("exit.json");
        std::fs::write(&exit, "{}").expect("exit");
        let followed: Vec<String> = LogReader::open(&path)
            .expect("open")
            .following(exit, None)
            .map(|e| e.expect("entry").log)
            .collect();
        assert_eq!(followed, ["a\n", "b\n"]);
        // A later run's replay starts at its first record and still stops
        // at an absolute limit.
        let later: Vec<String> = LogReader::open_at(&path, first.len() as u64)
            .expect("open at")
            .with_limit((first.len() + second.len()) as u64)
            .map(|e| e.expect("entry").log)
            .collect();
        assert_eq!(later, ["b\n"]);
        let none = LogReader::open_at(&path, first.len() as u64)
            .expect("open at")
            .with_limit(first.len() as u64)
            .count();
        assert_eq!(none, 0);
    }
}
