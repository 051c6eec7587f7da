use crate::edge::Caller;
