//! The attach socket's wire format. Every frame is
//! `[kind: u8][length: u32 big-endian][payload]`:
//!
//! | kind | direction     | payload                                              |
//! |------|---------------|------------------------------------------------------|
//! | 0    | client → shim | stdin bytes                                          |
//! | 1    | shim → client | stdout bytes (all tty output is stdout)              |
//! | 2    | shim → client | stderr bytes                                         |
//! | 3    | client → shim | resize: rows u16, cols u16                           |
//! | 4    | client → shim | close stdin (empty); with a tty, type the EOF char    |
//! | 5    | shim → client | exit: code i32, oom_killed u8; then the shim closes  |
//! | 6    | shim → client | hello, always first: version u8 (1), tty u8, log offset u64, pending stdout (u32 length + bytes), pending stderr (same) |
//!
//! The hello lets a client that wants everything since the start read the
//! log file up to `log offset`, then the pending partial lines, then the
//! live frames, without gap or duplicate.

use std::io::{self, Read, Write};

/// Largest payload accepted; bigger frames are a protocol error.
pub const MAX_PAYLOAD: usize = 1 << 20;

const VERSION: u8 = 1;

/// First frame from the shim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    pub tty: bool,
    /// Length of the log file's complete records when the client connected.
    pub log_offset: u64,
    /// Output already read by the shim but not yet in the log file.
    pub pending_stdout: Vec<u8>,
    pub pending_stderr: Vec<u8>,
}

/// One attach frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Stdin(Vec<u8>),
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
    Resize { rows: u16, cols: u16 },
    CloseStdin,
    Exit { code: i32, oom_killed: bool },
    Hello(Hello),
}

impl Frame {
    /// The bytes of this frame on the wire.
    pub fn encode(&self) -> Vec<u8> {
        let (kind, payload): (u8, Vec<u8>) = match self {
            Frame::Stdin(b) => (0, b.clone()),
            Frame::Stdout(b) => (1, b.clone()),
            Frame::Stderr(b) => (2, b.clone()),
            Frame::Resize { rows, cols } => (3, [rows.to_be_bytes(), cols.to_be_bytes()].concat()),
            Frame::CloseStdin => (4, Vec::new()),
            Frame::Exit { code, oom_killed } => {
                let mut p = code.to_be_bytes().to_vec();
                p.push(u8::from(*oom_killed));
                (5, p)
            }
            Frame::Hello(h) => (6, encode_hello(h)),
        };
        let mut out = Vec::with_capacity(5 + payload.len());
        out.push(kind);
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(&payload);
        out
    }

    /// Decodes the first frame in `buf`: `Ok(Some((frame, used)))`, or
    /// `Ok(None)` when more bytes are needed.
    pub fn decode(buf: &[u8]) -> io::Result<Option<(Frame, usize)>> {
        let Some(header) = buf.get(..5) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
        if len > MAX_PAYLOAD {
            return Err(invalid(format!("frame of {len} bytes is over the limit")));
        }
        let Some(payload) = buf.get(5..5 + len) else {
            return Ok(None);
        };
        Ok(Some((decode_payload(header[0], payload)?, 5 + len)))
    }

    /// Reads one frame; `Ok(None)` at a clean end of stream.
    pub fn read_from(reader: &mut impl Read) -> io::Result<Option<Frame>> {
        let mut header = [0u8; 5];
        match reader.read_exact(&mut header) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
        if len > MAX_PAYLOAD {
            return Err(invalid(format!("frame of {len} bytes is over the limit")));
        }
        let mut payload = vec![0u8; len];
        reader.read_exact(&mut payload)?;
        decode_payload(header[0], &payload).map(Some)
    }

    pub fn write_to(&self, writer: &mut impl Write) -> io::Result<()> {
        writer.write_all(&self.encode())
    }
}

fn invalid(reason: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, reason)
}

fn decode_payload(kind: u8, p: &[u8]) -> io::Result<Frame> {
    let exact = |n: usize| {
        if p.len() == n {
            Ok(())
        } else {
            Err(invalid(format!(
                "frame kind {kind} needs {n} payload bytes, got {}",
                p.len()
            )))
        }
    };
    Ok(match kind {
        0 => Frame::Stdin(p.to_vec()),
        1 => Frame::Stdout(p.to_vec()),
        2 => Frame::Stderr(p.to_vec()),
        3 => {
            exact(4)?;
            Frame::Resize {
                rows: u16::from_be_bytes([p[0], p[1]]),
                cols: u16::from_be_bytes([p[2], p[3]]),
            }
        }
        4 => {
            exact(0)?;
            Frame::CloseStdin
        }
        5 => {
            exact(5)?;
            Frame::Exit {
                code: i32::from_be_bytes([p[0], p[1], p[2], p[3]]),
                oom_killed: p[4] != 0,
            }
        }
        6 => Frame::Hello(decode_hello(p)?),
        other => return Err(invalid(format!("unknown frame kind {other}"))),
    })
}

fn encode_hello(h: &Hello) -> Vec<u8> {
    let mut p = vec![VERSION, u8::from(h.tty)];
    p.extend_from_slice(&h.log_offset.to_be_bytes());
    for bytes in [&h.pending_stdout, &h.pending_stderr] {
        p.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        p.extend_from_slice(bytes);
    }
    p
}

fn decode_hello(p: &[u8]) -> io::Result<Hello> {
    let short = || invalid("hello frame too short".into());
    if p.first() != Some(&VERSION) {
        return Err(invalid(format!(
            "attach protocol version {:?} is not 1",
            p.first()
        )));
    }
    let tty = *p.get(1).ok_or_else(short)? != 0;
    let offset: [u8; 8] = p
        .get(2..10)
        .ok_or_else(short)?
        .try_into()
        .map_err(|_| short())?;
    let mut rest = &p[10..];
    let mut take = || -> io::Result<Vec<u8>> {
        let len: [u8; 4] = rest
            .get(..4)
            .ok_or_else(short)?
            .try_into()
            .map_err(|_| short())?;
        let len = u32::from_be_bytes(len) as usize;
        let bytes = rest.get(4..4 + len).ok_or_else(short)?.to_vec();
        rest = &rest[4 + len..];
        Ok(bytes)
    };
    let pending_stdout = take()?;
    let pending_stderr = take()?;
    Ok(Hello {
        tty,
        log_offset: u64::from_be_bytes(offset),
        pending_stdout,
        pending_stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_bytes() {
        assert_eq!(
            Frame::Stdin(b"hi".to_vec()).encode(),
            [0, 0, 0, 0, 2, b'h', b'i']
        );
        assert_eq!(
            Frame::Resize { rows: 24, cols: 80 }.encode(),
            [3, 0, 0, 0, 4, 0, 24, 0, 80]
        );
        assert_eq!(Frame::CloseStdin.encode(), [4, 0, 0, 0, 0]);
        assert_eq!(
            Frame::Exit {
                code: 137,
                oom_killed: true
            }
            .encode(),
            [5, 0, 0, 0, 5, 0, 0, 0, 137, 1]
        );
        let hello = Frame::Hello(Hello {
            tty: true,
            log_offset: 258,
            pending_stdout: b"ab".to_vec(),
            pending_stderr: Vec::new(),
        });
        assert_eq!(
            hello.encode(),
            [6, 0, 0, 0, 20, 1, 1, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 2, b'a', b'b', 0, 0, 0, 0]
        );
    }

    #[test]
    fn round_trips_whole_and_split() {
        let frames = [
            Frame::Stdout(b"out".to_vec()),
            Frame::Stderr(Vec::new()),
            Frame::Resize {
                rows: 1,
                cols: 65535,
            },
            Frame::Exit {
                code: -1,
                oom_killed: false,
            },
            Frame::Hello(Hello {
                tty: false,
                log_offset: u64::MAX,
                pending_stdout: Vec::new(),
                pending_stderr: b"e".to_vec(),
            }),
        ];
        let wire: Vec<u8> = frames.iter().flat_map(Frame::encode).collect();
        let mut cursor = io::Cursor::new(&wire);
        for f in &frames {
            assert_eq!(
                Frame::read_from(&mut cursor).expect("read").as_ref(),
                Some(f)
            );
        }
        assert_eq!(Frame::read_from(&mut cursor).expect("eof"), None);
        assert_eq!(Frame::decode(&wire[..4]).expect("partial"), None);
        let (first, used) = Frame::decode(&wire).expect("decode").expect("frame");
        assert_eq!(first, frames[0]);
        assert_eq!(used, 8);
    }

    #[test]
    fn rejects_garbage() {
        assert!(Frame::decode(&[9, 0, 0, 0, 0]).is_err());
        assert!(Frame::decode(&[3, 0, 0, 0, 1, 0]).is_err());
        assert!(Frame::decode(&[1, 0xff, 0xff, 0xff, 0xff]).is_err());
    }
}
