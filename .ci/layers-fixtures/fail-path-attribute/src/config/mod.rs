#[path = "../edge/settings.rs"]
mod settings;
