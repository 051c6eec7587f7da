pub const QUOTE: char = '"'; pub const PROTO: crate::config::Key = crate::config::Key("proto");
