//! Docker's json-file log format: one JSON object per line,
//! `{"log":"hello\n","stream":"stdout","time":"2024-…Z"}`. Output is cut at
//! newlines, and a line longer than 16 KiB is split into several records
//! without a trailing newline, as dockerd does.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::timestamp;

/// dockerd's buffer size for a partial line.
pub(crate) const MAX_RECORD: usize = 16 * 1024;

/// Which output stream a record came from (a tty is always stdout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One record of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub stream: Stream,
    pub time: SystemTime,
    /// The text, including its trailing newline when it had one; invalid
    /// UTF-8 is replaced by U+FFFD, as Go's encoder does.
    pub log: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record<'a> {
    log: Cow<'a, str>,
    stream: Stream,
    time: Cow<'a, str>,
}

/// One JSON line (with its `\n`).
pub(crate) fn encode(stream: Stream, bytes: &[u8], time: SystemTime) -> Vec<u8> {
    let record = Record {
        log: String::from_utf8_lossy(bytes),
        stream,
        time: Cow::Owned(timestamp::format(time)),
    };
    // Serializing a struct of strings cannot fail.
    let mut line = serde_json::to_vec(&record).unwrap_or_default();
    line.push(b'\n');
    line
}

/// Parses one line of the log.
pub(crate) fn decode(line: &str) -> io::Result<LogEntry> {
    let record: Record<'_> =
        serde_json::from_str(line.trim_end_matches('\n')).map_err(io::Error::other)?;
    let time = timestamp::parse(&record.time)
        .ok_or_else(|| io::Error::other(format!("bad time `{}` in log record", record.time)))?;
    Ok(LogEntry {
        stream: record.stream,
        time,
        log: record.log.into_owned(),
    })
}

/// The shim's log file: cuts each stream into records and appends them.
pub(crate) struct LogWriter {
    file: File,
    /// Bytes written so far: the end of the last complete record.
    offset: u64,
    /// Per stream (stdout, stderr): output not yet ended by a newline.
    pending: [Vec<u8>; 2],
}

fn index(stream: Stream) -> usize {
    match stream {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    }
}

impl LogWriter {
    pub(crate) fn create(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let offset = file.metadata()?.len();
        Ok(Self {
            file,
            offset,
            pending: [Vec::new(), Vec::new()],
        })
    }

    /// Appends output; complete lines become records now, the rest waits.
    pub(crate) fn write(&mut self, stream: Stream, data: &[u8]) -> io::Result<()> {
        let mut rest = data;
        while let Some(pos) = rest.iter().position(|b| *b == b'\n') {
            let (line, tail) = rest.split_at(pos + 1);
            let mut record = std::mem::take(&mut self.pending[index(stream)]);
            record.extend_from_slice(line);
            self.emit(stream, &record)?;
            rest = tail;
        }
        self.pending[index(stream)].extend_from_slice(rest);
        while self.pending[index(stream)].len() >= MAX_RECORD {
            let chunk: Vec<u8> = self.pending[index(stream)].drain(..MAX_RECORD).collect();
            self.emit(stream, &chunk)?;
        }
        Ok(())
    }

    /// Writes what is left of both streams (at container exit).
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        for stream in [Stream::Stdout, Stream::Stderr] {
            let rest = std::mem::take(&mut self.pending[index(stream)]);
            if !rest.is_empty() {
                self.emit(stream, &rest)?;
            }
        }
        self.file.flush()
    }

    /// The end of the last complete record in the file.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Output of `stream` that is not in the file yet.
    pub(crate) fn pending(&self, stream: Stream) -> &[u8] {
        &self.pending[index(stream)]
    }

    fn emit(&mut self, stream: Stream, bytes: &[u8]) -> io::Result<()> {
        let line = encode(stream, bytes, SystemTime::now());
        self.file.write_all(&line)?;
        self.offset += line.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn golden_record() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 5);
        let line = encode(Stream::Stderr, b"caf\xc3\xa9 \"x\"\n", t);
        assert_eq!(
            String::from_utf8(line.clone()).expect("utf8"),
            "{\"log\":\"café \\\"x\\\"\\n\",\"stream\":\"stderr\",\"time\":\"2023-11-14T22:13:20.000000005Z\"}\n"
        );
        let entry = decode(std::str::from_utf8(&line).expect("utf8")).expect("decode");
        assert_eq!(entry.stream, Stream::Stderr);
        assert_eq!(entry.log, "café \"x\"\n");
        assert_eq!(entry.time, t);
        // What dockerd itself writes parses too.
        let docker = r#"{"log":"hi\n","stream":"stdout","time":"2024-01-02T03:04:05.06Z"}"#;
        assert_eq!(decode(docker).expect("docker").log, "hi\n");
    }

    #[test]
    fn writer_cuts_lines_and_tracks_offset() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log");
        let mut w = LogWriter::create(&path).expect("create");
        w.write(Stream::Stdout, b"one\ntw").expect("write");
        w.write(Stream::Stderr, b"err\n").expect("write");
        assert_eq!(w.pending(Stream::Stdout), b"tw");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(w.offset(), text.len() as u64);
        w.write(Stream::Stdout, b"o\nthree").expect("write");
        w.finish().expect("finish");
        let text = std::fs::read_to_string(&path).expect("read");
        let logs: Vec<String> = text.lines().map(|l| decode(l).expect("line").log).collect();
        assert_eq!(logs, ["one\n", "err\n", "two\n", "three"]);
        let mut w = LogWriter::create(&path).expect("reopen");
        w.write(Stream::Stdout, &vec![b'a'; MAX_RECORD + 10])
            .expect("long");
        assert_eq!(w.pending(Stream::Stdout).len(), 10);
    }
}
