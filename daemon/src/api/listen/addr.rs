//! `-H` values: `unix:///path/to/socket` or `tcp://HOST[:PORT]`.

use std::fmt;
use std::path::PathBuf;

use anyhow::bail;

/// The port cnmd's remote API conventionally uses (Docker's TLS port).
pub const DEFAULT_TLS_PORT: u16 = 2376;

/// One place to listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    Unix(PathBuf),
    /// An address or name, without brackets, and a port.
    Tcp {
        host: String,
        port: u16,
    },
}

impl ListenAddr {
    /// Parses `unix://PATH`, `tcp://HOST:PORT`, `tcp://[V6]:PORT`,
    /// `tcp://HOST` (port 2376) and `tcp://:PORT` (every address).
    pub fn parse(raw: &str) -> anyhow::Result<ListenAddr> {
        if let Some(path) = raw.strip_prefix("unix://") {
            if path.is_empty() {
                bail!("-H {raw}: the socket path is missing, as in unix:///run/cnm/cnmd.sock");
            }
            return Ok(ListenAddr::Unix(PathBuf::from(path)));
        }
        let Some(rest) = raw.strip_prefix("tcp://") else {
            bail!("-H {raw}: expected unix:///path/to/socket or tcp://ADDRESS:{DEFAULT_TLS_PORT}");
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') {
            bail!("-H {raw}: a tcp:// host takes no path");
        }
        let (host, port) = split_host_port(rest)
            .ok_or_else(|| anyhow::anyhow!("-H {raw}: expected tcp://ADDRESS:PORT"))?;
        let port = match port {
            None => DEFAULT_TLS_PORT,
            Some(p) => match p.parse::<u16>() {
                Ok(port) if port != 0 => port,
                _ => bail!("-H {raw}: invalid port {p:?}"),
            },
        };
        let host = if host.is_empty() { "0.0.0.0" } else { host };
        Ok(ListenAddr::Tcp {
            host: host.to_string(),
            port,
        })
    }
}

/// `HOST:PORT`, `[V6]:PORT`, `[V6]`, `HOST` → host and optional port text.
fn split_host_port(text: &str) -> Option<(&str, Option<&str>)> {
    if let Some(bracketed) = text.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?))),
        };
    }
    match text.split_once(':') {
        // A bare IPv6 address has more colons: it needs brackets.
        Some((_, port)) if port.contains(':') => None,
        Some((host, port)) => Some((host, Some(port))),
        None => Some((text, None)),
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddr::Unix(path) => write!(f, "unix://{}", path.display()),
            ListenAddr::Tcp { host, port } if host.contains(':') => {
                write!(f, "tcp://[{host}]:{port}")
            }
            ListenAddr::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: u16) -> ListenAddr {
        ListenAddr::Tcp {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn parses_the_forms_docker_accepts() {
        let parse = |raw| ListenAddr::parse(raw).expect(raw);
        assert_eq!(
            parse("unix:///run/cnm/cnmd.sock"),
            ListenAddr::Unix("/run/cnm/cnmd.sock".into())
        );
        assert_eq!(parse("tcp://10.0.0.1:2376"), tcp("10.0.0.1", 2376));
        assert_eq!(parse("tcp://10.0.0.1"), tcp("10.0.0.1", 2376));
        assert_eq!(parse("tcp://:2377"), tcp("0.0.0.0", 2377));
        assert_eq!(parse("tcp://[::1]:2376/"), tcp("::1", 2376));
        assert_eq!(parse("tcp://[::]"), tcp("::", 2376));
        assert_eq!(parse("tcp://host.example:1234"), tcp("host.example", 1234));
    }

    #[test]
    fn rejects_what_it_cannot_listen_on() {
        for raw in [
            "unix://",
            "http://10.0.0.1:2376",
            "/run/cnm/cnmd.sock",
            "tcp://10.0.0.1:port",
            "tcp://10.0.0.1:0",
            "tcp://10.0.0.1:70000",
            "tcp://::1:2376",
            "tcp://[::1:2376",
            "tcp://10.0.0.1:2376/path",
        ] {
            assert!(ListenAddr::parse(raw).is_err(), "{raw} was accepted");
        }
    }

    #[test]
    fn displays_as_written() {
        assert_eq!(tcp("::1", 2376).to_string(), "tcp://[::1]:2376");
        assert_eq!(tcp("10.0.0.1", 2376).to_string(), "tcp://10.0.0.1:2376");
    }
}
