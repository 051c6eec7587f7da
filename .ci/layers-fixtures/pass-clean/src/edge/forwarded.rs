// `super` is `crate::edge`, `super::super` the crate root.
use super::Keyword;
use super::super::domain::CustomerTenantId;
use self::inner::Part;

pub struct Forwarded(pub CustomerTenantId, pub Keyword);

mod inner {
    pub struct Part;
    // From `crate::edge::forwarded::inner`: `super::super` is `crate::edge`.
    use super::super::Documented;
}
