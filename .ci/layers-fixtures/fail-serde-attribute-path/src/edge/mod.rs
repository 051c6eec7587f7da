#[derive(serde::Deserialize)]
pub struct Forwarded {
    #[serde(deserialize_with = "crate::config::parse_proto")]
    pub proto: String,
}
