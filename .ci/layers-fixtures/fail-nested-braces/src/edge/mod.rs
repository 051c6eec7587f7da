// The inner `}` is not the end of the tree.
use crate::{domain::{CustomerTenantId}, config::Settings};
