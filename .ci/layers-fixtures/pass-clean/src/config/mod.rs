//! The top layer imports what is below it.

use crate::domain::CustomerTenantId;
use crate::edge::{Field, forwarded::Forwarded};
use super::edge::Keyword;

#[derive(serde::Deserialize)]
pub struct Settings {
    #[serde(with = "crate::domain")]
    pub tenant: CustomerTenantId,
}
