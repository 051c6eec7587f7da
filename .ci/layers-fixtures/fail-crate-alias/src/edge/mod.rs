use crate as gw;

pub fn settings() -> gw::config::Settings {
    gw::config::Settings::default()
}
