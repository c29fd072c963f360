//! `/metrics` on the `metrics` facade with its Prometheus exporter: any layer records through
//! the facade's macros (`metrics::counter!`, `histogram!`, `gauge!`); this module installs the
//! recorder once per process and renders it.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency buckets in seconds: a hot path answers in milliseconds, a report in tens of them.
const SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// How often the histograms' observations are drained into their buckets.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Installs the process's recorder (once; later calls reuse it). None when another recorder
/// was installed first (then `/metrics` answers only the pool's gauges).
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
                .ok()?;
            match builder.install_recorder() {
                Ok(h) => {
                    // the recorder keeps every histogram observation until it is drained: without
                    // a render or an upkeep they pile up (a steady climb of ~50 B a request when
                    // nobody scrapes /metrics), so a thread drains them every 5 s
                    let upkeep = h.clone();
                    let spawned = std::thread::Builder::new()
                        .name("metrics-upkeep".into())
                        .spawn(move || loop {
                            std::thread::sleep(UPKEEP_EVERY);
                            upkeep.run_upkeep();
                        });
                    if let Err(e) = spawned {
                        tracing::warn!(error = %e, "metrics upkeep thread not started");
                    }
                    Some(h)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// The Prometheus text: every metric recorded so far, and the pool's state now.
pub fn render(status: deadpool::Status) -> String {
    metrics::gauge!("zhucan_db_pool_connections", "state" => "size").set(status.size as f64);
    metrics::gauge!("zhucan_db_pool_connections", "state" => "available")
        .set(status.available as f64);
    metrics::gauge!("zhucan_db_pool_connections", "state" => "max").set(status.max_size as f64);
    metrics::gauge!("zhucan_db_pool_waiting").set(status.waiting as f64);
    install().map(PrometheusHandle::render).unwrap_or_default()
}
