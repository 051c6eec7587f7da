// `super` is the crate root: its glob brings every top-level module into scope.
use super::*;

pub fn settings() -> config::Settings {
    config::Settings::default()
}
