/// Every path under this one.
pub const ANY: &str = "/*";

use crate::config::Settings;

/* a comment, whose end a lexer that ignores strings would take for the string's */
