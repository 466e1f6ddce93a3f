//! Prometheus metrics (`cnmd --metrics-addr`): API calls and their latency
//! by method, connect/disconnect latency, object gauges and nftables
//! transactions, served as text on `http://ADDR/metrics`.
//!
//! The registry is one process-wide static so that any module can count
//! without plumbing; gauges are read from the core and the container
//! manager when scraped, so they are the real counts, never drift.

mod api_layer;
mod histogram;
mod http;

pub use api_layer::api_layer;
pub use histogram::Histogram;
pub use http::serve;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

/// gRPC methods tracked by name at most; later unknown ones share one
/// label, so a client cannot grow the registry without bound.
const MAX_METHODS: usize = 256;

pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::default);

#[derive(Debug, Default)]
pub struct Metrics {
    api: Mutex<BTreeMap<String, ApiMethod>>,
    pub connect: Histogram,
    pub disconnect: Histogram,
}

#[derive(Debug, Default)]
struct ApiMethod {
    errors: AtomicU64,
    latency: Histogram,
}

/// What the daemon holds right now, read at scrape time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gauges {
    pub networks: usize,
    pub endpoints: usize,
    pub sandboxes: usize,
    pub containers_running: usize,
    pub containers_stopped: usize,
    /// The resolver's counters as it last wrote them (None: no DNS).
    pub dns: Option<cnm_dns::DnsStats>,
}

impl Metrics {
    /// One finished API call; `failed` when its gRPC status was not OK.
    pub fn api_call(&self, method: &str, took: Duration, failed: bool) {
        let mut api = self.api.lock().unwrap_or_else(|e| e.into_inner());
        let key = if api.contains_key(method) || api.len() < MAX_METHODS {
            method
        } else {
            "other"
        };
        let entry = api.entry(key.to_owned()).or_default();
        entry.latency.observe(took);
        if failed {
            entry.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The Prometheus text exposition of everything.
    pub fn render(&self, gauges: &Gauges, nft: cnm_firewall::TransactionStats) -> String {
        let mut out = String::new();
        self.render_api(&mut out);
        for (name, help, histogram) in [
            (
                "cnm_connect_duration_seconds",
                "Time to connect an endpoint (kernel, store, DNS).",
                &self.connect,
            ),
            (
                "cnm_disconnect_duration_seconds",
                "Time to disconnect an endpoint.",
                &self.disconnect,
            ),
        ] {
            header(&mut out, name, help, "histogram");
            histogram.render(&mut out, name, "");
        }
        for (name, help, value) in [
            (
                "cnm_networks",
                "Networks, built-in ones included.",
                gauges.networks,
            ),
            (
                "cnm_endpoints",
                "Endpoints (container interfaces) connected.",
                gauges.endpoints,
            ),
            (
                "cnm_sandboxes",
                "Sandboxes (network namespaces) with endpoints.",
                gauges.sandboxes,
            ),
        ] {
            header(&mut out, name, help, "gauge");
            let _ = writeln!(out, "{name} {value}");
        }
        header(
            &mut out,
            "cnm_containers",
            "Containers of the bundled runtime by state.",
            "gauge",
        );
        let _ = writeln!(
            out,
            "cnm_containers{{state=\"running\"}} {}",
            gauges.containers_running
        );
        let _ = writeln!(
            out,
            "cnm_containers{{state=\"stopped\"}} {}",
            gauges.containers_stopped
        );
        for (name, help, value) in [
            (
                "cnm_nft_transactions_total",
                "nf_tables transactions (nft runs and netlink batches).",
                nft.transactions,
            ),
            (
                "cnm_nft_transaction_failures_total",
                "nf_tables transactions refused.",
                nft.failures,
            ),
        ] {
            header(&mut out, name, help, "counter");
            let _ = writeln!(out, "{name} {value}");
        }
        if let Some(dns) = gauges.dns {
            header(
                &mut out,
                "cnm_dns_queries_total",
                "Queries to the embedded DNS resolver by outcome (written by cnm-dns about once a second).",
                "counter",
            );
            for (outcome, value) in [
                ("local", dns.local_answers),
                ("forwarded", dns.forwards),
                ("refused", dns.refused),
                ("servfail", dns.servfail),
            ] {
                let _ = writeln!(
                    out,
                    "cnm_dns_queries_total{{outcome=\"{outcome}\"}} {value}"
                );
            }
        }
        out
    }

    fn render_api(&self, out: &mut String) {
        let api = self.api.lock().unwrap_or_else(|e| e.into_inner());
        let calls = "cnm_api_requests_total";
        header(out, calls, "API calls by gRPC method.", "counter");
        for (method, m) in api.iter() {
            let _ = writeln!(
                out,
                "{calls}{{method=\"{}\"}} {}",
                escape(method),
                m.latency.count()
            );
        }
        let errors = "cnm_api_request_errors_total";
        header(
            out,
            errors,
            "API calls answered with a gRPC error.",
            "counter",
        );
        for (method, m) in api.iter() {
            let _ = writeln!(
                out,
                "{errors}{{method=\"{}\"}} {}",
                escape(method),
                m.errors.load(Ordering::Relaxed)
            );
        }
        let latency = "cnm_api_request_duration_seconds";
        header(
            out,
            latency,
            "Time to answer an API call (streams: to start answering).",
            "histogram",
        );
        for (method, m) in api.iter() {
            m.latency
                .render(out, latency, &format!("method=\"{}\",", escape(method)));
        }
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value as the text format wants it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_with_help_and_type() {
        let metrics = Metrics::default();
        metrics.api_call(
            "/cnm.v1.NetworkService/List",
            Duration::from_millis(2),
            false,
        );
        metrics.api_call(
            "/cnm.v1.NetworkService/List",
            Duration::from_millis(3),
            true,
        );
        metrics.connect.observe(Duration::from_millis(7));
        let gauges = Gauges {
            networks: 4,
            endpoints: 2,
            sandboxes: 1,
            containers_running: 1,
            containers_stopped: 3,
            dns: Some(cnm_dns::DnsStats {
                queries: 7,
                local_answers: 4,
                forwards: 2,
                refused: 1,
                servfail: 0,
            }),
        };
        let nft = cnm_firewall::TransactionStats {
            transactions: 9,
            failures: 1,
        };
        let text = metrics.render(&gauges, nft);
        for line in [
            "cnm_api_requests_total{method=\"/cnm.v1.NetworkService/List\"} 2",
            "cnm_api_request_errors_total{method=\"/cnm.v1.NetworkService/List\"} 1",
            "cnm_api_request_duration_seconds_bucket{method=\"/cnm.v1.NetworkService/List\",le=\"+Inf\"} 2",
            "cnm_connect_duration_seconds_count 1",
            "cnm_disconnect_duration_seconds_count 0",
            "cnm_networks 4",
            "cnm_endpoints 2",
            "cnm_containers{state=\"stopped\"} 3",
            "cnm_nft_transactions_total 9",
            "cnm_nft_transaction_failures_total 1",
            "cnm_dns_queries_total{outcome=\"local\"} 4",
            "cnm_dns_queries_total{outcome=\"refused\"} 1",
            "# TYPE cnm_api_request_duration_seconds histogram",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}:\n{text}");
        }
    }

    #[test]
    fn methods_beyond_the_cap_share_a_label() {
        let metrics = Metrics::default();
        for i in 0..MAX_METHODS + 10 {
            metrics.api_call(&format!("/m{i}"), Duration::ZERO, false);
        }
        let text = metrics.render(&Gauges::default(), Default::default());
        assert!(
            text.contains("cnm_api_requests_total{method=\"other\"} 10"),
            "{text}"
        );
        assert!(escape("a\"b\\") == "a\\\"b\\\\");
    }
}
