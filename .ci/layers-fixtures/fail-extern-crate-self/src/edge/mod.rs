extern crate self as gateway;

pub fn settings() -> gateway::config::Settings {
    gateway::config::Settings::default()
}
