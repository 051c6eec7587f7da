use crate::metrics::Counter;
