// The file src/edge/settings.rs, whose `super` would seem to be `crate::edge`, is `crate::config::settings`.
pub struct Caller;
