pub const DRIVE: &str = r"C:\"; pub const KEY: crate::config::Key = crate::config::Key("drive");
