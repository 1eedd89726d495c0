//! What the instance page shows first: what the instance holds, today's decisions, the quotas
//! near their limit, how current this replica's enforcement snapshot is, and where the
//! console answers (for the proxy configurations it fills in).

use super::records::Quota;
use super::usage::UsageTotals;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceOverview {
    pub gateway_id: String,
    pub consumers: i64,
    pub consumer_groups: i64,
    pub keys: i64,
    pub apis: i64,
    /// Authorization rules that grant access now (long-term, or not yet expired).
    pub rules_in_effect: i64,
    /// Today (UTC) so far: from midnight to now, in ms.
    pub today_from: i64,
    pub today_to: i64,
    pub today: UsageTotals,
    /// Quotas past their warning threshold in their current period, the fullest first (at
    /// most 10).
    pub quotas_near_limit: Vec<Quota>,
    /// The revision of the instance's enforcement data in the database.
    pub revision: i64,
    /// The revision this replica's snapshot is at (none when it has not loaded it yet).
    pub snapshot_revision: Option<i64>,
    /// How long ago this replica last confirmed its snapshots current (ms).
    pub snapshot_confirmed_ago: i64,
    /// The console's origin as the browser reached it (or `CONSOLE_PUBLIC_URL`).
    pub console_origin: String,
}
