//! Reading the TOML text in two parts: its `[[connections]]`, deserialized in one typed pass, and every other
//! table, handed to figment so that the `PCGW_` environment can override it.
//!
//! Why not figment for all of it: figment first turns a file into its own generic values, then deserializes
//! those, and with a hundred thousand connections (34 MB of TOML) that took about 2 s of the start-up, against
//! 0.4 s for the `toml` crate deserializing straight into the connections' types. The environment has nothing to
//! say about `[[connections]]` (a list of tables has no `PCGW_SECTION__KEY` name), so nothing is lost.
//!
//! And why in pieces: the `toml` crate holds a whole document's syntax tree at once, about seventeen times the
//! text (580 MB for those 34 MB), which a container's memory limit may not allow, and whose first touch alone
//! costs time. So a large file is read a few hundred connections at a time (see [`in_pieces`]), and anything
//! that could make the pieces mean something other than the whole sends it back to one whole-document parse,
//! which also words every error. No crate reads a TOML list of tables piece by piece, hence this.

use std::collections::BTreeMap;
use std::fmt;

use figment::value::{Dict, Map};
use figment::{Metadata, Profile, Provider};
use serde::Deserialize;
use serde::de::{MapAccess, Visitor};

use super::ConfigError;
use super::connections::ConnectionSettings;

/// The file: its connections, and its other tables as written.
pub(super) struct Split {
    pub connections: Vec<ConnectionSettings>,
    pub tables: toml::Table,
    /// Whether the text had a `connections` key at all (`connections = []` has one).
    has_connections: bool,
}

impl<'de> Deserialize<'de> for Split {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Document;
        impl<'de> Visitor<'de> for Document {
            type Value = Split;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a TOML document")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Split, A::Error> {
                let mut split = Split {
                    connections: Vec::new(),
                    tables: toml::Table::new(),
                    has_connections: false,
                };
                while let Some(key) = map.next_key::<String>()? {
                    if key == "connections" {
                        split.connections = map.next_value()?;
                        split.has_connections = true;
                    } else {
                        let value = map.next_value()?;
                        split.tables.insert(key, value);
                    }
                }
                Ok(split)
            }
        }
        d.deserialize_map(Document)
    }
}

/// Parses `text`; an error names the key and the line, and `source` (the file, or "TOML source string").
pub(super) fn split(text: &str, source: &str) -> Result<Split, ConfigError> {
    match in_pieces(text) {
        Some(split) => Ok(split),
        None => whole(text, source),
    }
}

/// Connections per piece: enough that a piece's own overhead does not show, few enough that its tree is small.
const PER_PIECE: usize = 256;

/// `text` read in pieces that each start at a line `[[connections]]` (the first piece is what comes before the
/// first), or `None` where the pieces could differ from the whole, or any piece fails: then only a whole parse
/// can say what the text means, or word its error.
///
/// Why the pieces mean what the whole does: TOML has no state across lines but strings and brackets, and a cut
/// inside a multi-line string or an array leaves the piece before it unterminated, which fails. A piece that
/// starts with `[[connections]]` appends one connection, and its sub-tables (`[connections.credentials]`,
/// `[[connections.api_keys]]`) are that connection's, as in the whole. What pieces cannot check between them is
/// another table defined in two of them (`[server]` before the connections, `[server.tls]` after them), and a
/// `connections` key before the first cut (an inline list, or `[[ connections ]]` spelt otherwise): either sends
/// the text back to the whole.
fn in_pieces(text: &str) -> Option<Split> {
    let mut cuts: Vec<usize> = Vec::new();
    let mut headers = 0;
    for (at, _) in text.match_indices("[[connections]]") {
        if at == 0 || text.as_bytes()[at - 1] == b'\n' {
            if headers % PER_PIECE == 0 {
                cuts.push(at);
            }
            headers += 1;
        }
    }
    if headers <= PER_PIECE {
        return None;
    }
    let first = parse_piece(&text[..cuts[0]])?;
    if first.has_connections {
        return None;
    }
    let mut split = first;
    for (i, &start) in cuts.iter().enumerate() {
        let end = cuts.get(i + 1).copied().unwrap_or(text.len());
        let piece = parse_piece(&text[start..end])?;
        split.connections.extend(piece.connections);
        for (key, value) in piece.tables {
            if split.tables.insert(key, value).is_some() {
                return None;
            }
        }
    }
    split.has_connections = true;
    Some(split)
}

fn parse_piece(text: &str) -> Option<Split> {
    toml::from_str(text).ok()
}

fn whole(text: &str, source: &str) -> Result<Split, ConfigError> {
    let line = |span: Option<std::ops::Range<usize>>| match span {
        Some(span) => format!(
            ", line {}",
            1 + text[..span.start.min(text.len())].matches('\n').count()
        ),
        None => String::new(),
    };
    let document = toml::Deserializer::parse(text).map_err(|e| {
        ConfigError(format!(
            "not valid TOML: {} (in {source}{})",
            e.message(),
            line(e.span())
        ))
    })?;
    serde_path_to_error::deserialize(document).map_err(|e| {
        let key = e.path().to_string();
        let e = e.into_inner();
        ConfigError(format!(
            "`{key}`: {} (in {source}{})",
            e.message(),
            line(e.span())
        ))
    })
}

/// The tables other than `[[connections]]`, as a figment source named like the file they came from.
pub(super) struct Tables {
    pub tables: toml::Table,
    pub metadata: Metadata,
}

impl Provider for Tables {
    fn metadata(&self) -> Metadata {
        self.metadata.clone()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let dict: Dict = figment::value::Value::serialize(&self.tables)?
            .into_dict()
            .ok_or_else(|| figment::Error::from("a TOML document is a table".to_owned()))?;
        Ok(BTreeMap::from([(Profile::Default, dict)]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(i: usize) -> String {
        format!(
            "[[connections]]\nid = \"c{i}\"\napi_key_sha256 = \"{i:064x}\"\n[connections.credentials]\nkind = \"app_only\"\n\
             tenant_id = \"t\"\nclient_id = \"c\"\nclient_secret_env = \"S\"\n[[connections.api_keys]]\nsha256 = \"{:064x}\"\n",
            i + 1_000_000
        )
    }

    fn many(n: usize) -> String {
        (0..n).map(connection).collect()
    }

    fn ids(split: &Split) -> Vec<String> {
        split.connections.iter().map(|c| c.id.clone()).collect()
    }

    #[test]
    fn a_large_file_read_in_pieces_means_what_it_means_whole() {
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n\n{}\n[admin]\napi_key_sha256 = \"{:064x}\"\n",
            many(3 * PER_PIECE + 7),
            7
        );
        let pieces = in_pieces(&text).expect("read in pieces");
        let whole = whole(&text, "test").unwrap();
        assert_eq!(ids(&pieces), ids(&whole));
        assert_eq!(pieces.connections.len(), 3 * PER_PIECE + 7);
        assert_eq!(pieces.tables, whole.tables);
        assert_eq!(
            format!("{:?}", pieces.connections[PER_PIECE]),
            format!("{:?}", whole.connections[PER_PIECE]),
            "sub-tables belong to their own connection"
        );
    }

    #[test]
    fn whatever_the_pieces_could_get_wrong_goes_back_to_the_whole() {
        let body = many(2 * PER_PIECE);
        for text in [
            // A table defined before the connections and again after them.
            format!(
                "[server]\nlisten = \"127.0.0.1:0\"\n{body}[server.tls]\ncert_file = \"a\"\nkey_file = \"b\"\n"
            ),
            // A cut inside a multi-line string.
            format!("[sandbox]\nnote = \"\"\"\n{}\"\"\"\n{body}", connection(9)),
            // An inline list before the first cut.
            format!("connections = []\n{body}"),
            // A broken piece.
            format!("{body}[[connections]]\nid = \n"),
        ] {
            assert!(in_pieces(&text).is_none());
        }
        // The whole decides: valid TOML with a multi-line string that holds a header...
        let quoted = format!("[sandbox]\nnote = \"\"\"\n{}\"\"\"\n{body}", connection(9));
        assert_eq!(
            split(&quoted, "test").unwrap().connections.len(),
            2 * PER_PIECE
        );
        // ...and the error of an invalid one names its line.
        let broken = format!("{body}[[connections]]\nid = \n");
        let e = split(&broken, "test").err().unwrap().to_string();
        assert!(
            e.contains(&format!("line {}", broken.lines().count())),
            "{e}"
        );
    }
}
