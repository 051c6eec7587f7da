use crate::quota::Quotas;
