//! [`CompiledSql`]: a model's or test's SQL after Jinja, with the relations it names kept
//! apart from its text. The project is rendered once; each use then spells the relations
//! its own way: quoted warehouse names to run locally ([`CompiledSql::render`]), another
//! warehouse's names to deliver a view ([`CompiledSql::render_with`]).

use datafusion::common::TableReference;

use crate::error::{Error, Result};
use crate::relations::{Relations, quoted};
use crate::spec::SourceRef;

/// A piece of compiled SQL.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Piece {
    Text(String),
    /// A model's relation (`ref('name')`, or `this`).
    Model(String),
    /// A source table's relation (`source('source', 'table')`).
    Source(SourceRef),
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CompiledSql {
    pieces: Vec<Piece>,
}

impl CompiledSql {
    pub fn new(pieces: Vec<Piece>) -> Self {
        CompiledSql { pieces }
    }

    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// The SQL with every relation quoted and schema-qualified; `owner` (the model or test
    /// it belongs to) is named when it uses a source no schema is known for.
    pub fn render(&self, relations: &Relations, owner: &str) -> Result<String> {
        self.render_with(relations, owner, quoted)
    }

    /// The SQL with each relation spelled by `name`.
    pub fn render_with(
        &self,
        relations: &Relations,
        owner: &str,
        name: impl Fn(&TableReference) -> String,
    ) -> Result<String> {
        let mut sql = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => sql.push_str(text),
                Piece::Model(model) => sql.push_str(&name(&relations.model(model))),
                Piece::Source(s) => {
                    let relation = relations.source(&s.source, &s.table).ok_or_else(|| Error::UnknownSource {
                        model: owner.to_owned(),
                        source_name: s.source.clone(),
                        table: s.table.clone(),
                    })?;
                    sql.push_str(&name(&relation));
                }
            }
        }
        Ok(sql)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relations_are_spelled_by_whoever_renders() {
        let sql = CompiledSql::new(vec![
            Piece::Text("select * from ".into()),
            Piece::Model("m".into()),
            Piece::Text(" join ".into()),
            Piece::Source(SourceRef::new("f", "t")),
        ]);
        let relations =
            Relations { target_schema: "a".into(), source_schemas: [("f".to_owned(), "raw".to_owned())].into() };
        assert_eq!(sql.render(&relations, "x").unwrap(), r#"select * from "a"."m" join "raw"."t""#);
        let upper = sql.render_with(&relations, "x", |r| r.to_string().to_uppercase()).unwrap();
        assert_eq!(upper, "select * from A.M join RAW.T");
        let unknown = sql.render(&Relations::default(), "x").unwrap_err().to_string();
        assert!(unknown.contains("'f.t'"), "{unknown}");
    }
}
