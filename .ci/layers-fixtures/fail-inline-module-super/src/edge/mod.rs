pub struct Caller;

mod inner {
    const CLOSE: &str = "}";
    // From `crate::edge::inner`: `super` is `crate::edge`, `super::super` the crate root.
    use super::super::config::Settings;
}
