pub struct CustomerTenantId(pub String);

pub fn parse<'de, D: serde::Deserializer<'de>>(_: D) -> Result<String, D::Error> {
    unimplemented!()
}
