//! `[metrics]`: what `GET /metrics` says and where it is served.

use std::net::SocketAddr;

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// Per-call metrics (calls, quota decisions) carry a `connection` label with the connection ID. Off by
    /// default: one series per connection and operation grows with the number of connections.
    pub connection_label: bool,
    /// Serve `/metrics` on a listener of its own at this address (and not on the main one), so that it need
    /// not be reachable by makers. Absent: on the main listener.
    pub listen: Option<SocketAddr>,
}
