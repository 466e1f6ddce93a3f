//! Attach clients of the shim: non-blocking unix streams with an input
//! frame buffer and a bounded output buffer, so a stalled client can never
//! stall the container (it is dropped instead).

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;

use crate::attach::Frame;

/// A client that falls this far behind is disconnected.
const MAX_BUFFERED: usize = 4 << 20;

pub(crate) struct Client {
    pub(crate) stream: UnixStream,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    /// Close once the output buffer is flushed (after the exit frame).
    pub(crate) closing: bool,
    pub(crate) dead: bool,
}

impl Client {
    pub(crate) fn new(stream: UnixStream) -> io::Result<Self> {
        stream.set_nonblocking(true)?;
        Ok(Self {
            stream,
            inbuf: Vec::new(),
            outbuf: Vec::new(),
            closing: false,
            dead: false,
        })
    }

    pub(crate) fn send(&mut self, frame: &Frame) {
        if self.dead {
            return;
        }
        let bytes = frame.encode();
        if self.outbuf.len() + bytes.len() > MAX_BUFFERED {
            eprintln!("cnm-shim: dropping an attach client that stopped reading");
            self.dead = true;
            return;
        }
        self.outbuf.extend_from_slice(&bytes);
        self.flush();
    }

    pub(crate) fn flush(&mut self) {
        while !self.outbuf.is_empty() && !self.dead {
            match self.stream.write(&self.outbuf) {
                Ok(0) => self.dead = true,
                Ok(n) => {
                    self.outbuf.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => self.dead = true,
            }
        }
        if self.closing && self.outbuf.is_empty() {
            self.dead = true;
        }
    }

    pub(crate) fn wants_write(&self) -> bool {
        !self.outbuf.is_empty()
    }

    /// Reads what is available and returns the complete frames.
    pub(crate) fn receive(&mut self) -> Vec<Frame> {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    self.dead = true;
                    break;
                }
                Ok(n) => self.inbuf.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.dead = true;
                    break;
                }
            }
        }
        let mut frames = Vec::new();
        loop {
            match Frame::decode(&self.inbuf) {
                Ok(Some((frame, used))) => {
                    self.inbuf.drain(..used);
                    frames.push(frame);
                }
                Ok(None) => break,
                Err(e) => {
                    eprintln!("cnm-shim: dropping an attach client: {e}");
                    self.dead = true;
                    break;
                }
            }
        }
        frames
    }
}
