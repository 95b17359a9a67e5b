//! Column-level lineage: for each column of each SQL model, the upstream columns (of
//! models, or of source tables) its values are computed from, read off the model's
//! DataFusion logical plan; lineage to the sources, or down to every column computed from
//! one, is a walk over these direct edges. `pitwall lineage MODEL.COLUMN` prints it, and
//! the docs site shows it.
//!
//! The plans are the project's own ([`Project::plan`]): the whole project planned once
//! without data, a session with every source table registered empty with its declared
//! schema, and each SQL model, in DAG order, planned and then registered as an empty table
//! of its planned schema. A ref in a model's plan is therefore a `TableScan`
//! of that model, never the model's own plan inlined, so each model's lineage is its own
//! (direct) and the walks compose them.
//!
//! Which plan: the **unoptimized** one, as `create_logical_plan` returns it. It is the SQL
//! as written: every output column is one select item, CTEs and derived tables are
//! `SubqueryAlias` nodes over their own plans, `select *` is already expanded, and joins,
//! aggregates, windows and unions are their own nodes with known output schemas, so a
//! column's origin is found by position or by resolving the expression's column
//! references against its input. The optimizer would add nothing correct and can lose
//! what the SQL says: it prunes, merges and reorders projections, extracts common
//! subexpressions under generated names, and simplifies expressions (a column it folds
//! away would vanish from the lineage).
//!
//! What counts: a column's upstream columns are the columns its expression reads,
//! through every projection, alias, CTE, subquery, join side, union branch, aggregate
//! argument and window function (its arguments, PARTITION BY and ORDER BY, since a
//! ranking's value is computed from them), and the output columns of scalar and IN
//! subqueries it uses. Columns that only decide which rows exist or meet (WHERE, JOIN ON,
//! GROUP BY, HAVING) are not a value's upstream; they are kept per model as
//! [`ModelLineage::row_inputs`]. A column computed from constants alone (a VALUES list, a
//! literal, `count(*)`) has no upstream column. Rust models have no SQL plan: they are
//! reported with what they read, without column detail.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use anyhow::{Result, bail};
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchema, JoinType, TableReference};

use datafusion::logical_expr::utils::grouping_set_to_exprlist;
use datafusion::logical_expr::{Aggregate, Distinct, Expr, Join, LogicalPlan, Subquery, TableScan};

use pitwall_core::dag::NodeId;
use pitwall_core::{Language, Node, SourceRef};
use serde::Serialize;

use pitwall_project::Project;

/// Whether a column belongs to a model or to a source table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RelationKind {
    Model,
    Source,
}

/// A column of a model or of a source table.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ColumnRef {
    /// A model's name (`int_results`), or a source table as `source.table`
    /// (`formula1.drivers`), as [`NodeId::name`] spells both.
    pub relation: String,
    pub column: String,
    pub kind: RelationKind,
}

impl ColumnRef {
    pub fn model(model: &str, column: &str) -> ColumnRef {
        ColumnRef { relation: model.to_owned(), column: column.to_owned(), kind: RelationKind::Model }
    }

    /// A column of source table `relation` (`formula1.drivers`).
    pub fn source(relation: &str, column: &str) -> ColumnRef {
        ColumnRef { relation: relation.to_owned(), column: column.to_owned(), kind: RelationKind::Source }
    }

    /// The DAG node the column belongs to.
    pub fn node_id(&self) -> NodeId {
        match self.kind {
            RelationKind::Model => NodeId::Model(self.relation.clone()),
            RelationKind::Source => {
                let (source, table) = self.relation.split_once('.').unwrap_or(("", &self.relation));
                NodeId::Source(SourceRef::new(source, table))
            }
        }
    }
}

/// `int_results.driver`, `source formula1.drivers.forename`.
impl fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            RelationKind::Model => write!(f, "{}.{}", self.relation, self.column),
            RelationKind::Source => write!(f, "source {}.{}", self.relation, self.column),
        }
    }
}

/// One output column of a model and the upstream columns its values are computed from.
#[derive(Clone, Debug, Serialize)]
pub struct ColumnLineage {
    pub name: String,
    /// Sorted; empty when computed from constants alone (or from whether a join matched).
    pub upstream: Vec<ColumnRef>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ModelLineage {
    pub language: Language,
    /// The relations it reads, as declared: refs, then sources (`formula1.races`).
    pub inputs: Vec<String>,
    /// Its columns in output order; empty when unknown before it runs (see `note`).
    pub columns: Vec<ColumnLineage>,
    /// Upstream columns that decide which rows it has (WHERE, JOIN ON, GROUP BY, HAVING)
    /// rather than any value; sorted.
    pub row_inputs: Vec<ColumnRef>,
    /// Why `columns` is empty or approximate: a Rust model, SQL that does not plan, or a
    /// plan node traced by column names only.
    pub note: Option<String>,
}

/// The project's column-level lineage.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Lineage {
    /// Every enabled model, by name.
    pub models: BTreeMap<String, ModelLineage>,
    /// Every source table (`formula1.drivers`) and its columns: where lineage ends.
    pub sources: BTreeMap<String, Vec<String>>,
}

impl Lineage {
    /// Plans every SQL model of `project` over empty tables (no data, no warehouse) and
    /// traces each output column to the columns it is computed from.
    pub async fn of(project: &Project) -> Result<Lineage> {
        let mut known = KnownRelations::new(&project.relations.target_schema);
        let mut lineage = Lineage::default();
        for table in project.sources.iter().flat_map(|s| &s.source.tables) {
            let reference = project.relations.source(&table.source, &table.name).expect("a declared source");
            let name = NodeId::Source(table.reference()).name();
            known.insert(&reference, RelationKind::Source, &name);
            lineage.sources.insert(name, table.columns.iter().map(|c| c.name.clone()).collect());
        }
        for node in &project.nodes {
            known.insert(&project.relations.model(node.name()), RelationKind::Model, node.name());
        }
        for node in &project.nodes {
            let model = model_lineage(project, &known, node)?;
            lineage.models.insert(node.name().to_owned(), model);
        }
        Ok(lineage)
    }

    /// The columns `relation` (a model or `source.table`) is known to have, in order;
    /// `None` for an unknown relation.
    pub fn columns(&self, relation: &str) -> Option<Vec<&str>> {
        match self.models.get(relation) {
            Some(m) => Some(m.columns.iter().map(|c| c.name.as_str()).collect()),
            None => self.sources.get(relation).map(|cs| cs.iter().map(String::as_str).collect()),
        }
    }

    /// The columns `model.column` is computed from directly; `None` when the column is
    /// not known (an unknown model or column, a Rust model).
    pub fn direct(&self, model: &str, column: &str) -> Option<&[ColumnRef]> {
        let columns = &self.models.get(model)?.columns;
        columns.iter().find(|c| c.name == column).map(|c| c.upstream.as_slice())
    }

    /// Every column `model.column` is computed from, down to source columns: a
    /// depth-first tree in pre-order, each entry with its depth (1 = direct). A column
    /// reached along two paths appears under each.
    pub fn upstream(&self, model: &str, column: &str) -> Vec<(usize, ColumnRef)> {
        let mut tree = Vec::new();
        self.walk_up(model, column, 1, &mut tree);
        tree
    }

    fn walk_up(&self, model: &str, column: &str, depth: usize, tree: &mut Vec<(usize, ColumnRef)>) {
        for parent in self.direct(model, column).unwrap_or_default() {
            tree.push((depth, parent.clone()));
            if parent.kind == RelationKind::Model {
                self.walk_up(&parent.relation, &parent.column, depth + 1, tree);
            }
        }
    }

    /// Every model column computed from `relation.column` (a model's, or a source
    /// table's with `relation` = `source.table`), as the same pre-order tree as
    /// [`Lineage::upstream`].
    pub fn downstream(&self, relation: &str, column: &str) -> Vec<(usize, ColumnRef)> {
        let mut children: BTreeMap<(&str, &str), Vec<ColumnRef>> = BTreeMap::new();
        for (model, lineage) in &self.models {
            for c in &lineage.columns {
                for parent in &c.upstream {
                    children
                        .entry((&parent.relation, &parent.column))
                        .or_default()
                        .push(ColumnRef::model(model, &c.name));
                }
            }
        }
        let mut tree = Vec::new();
        walk_down(&children, relation, column, 1, &mut tree);
        tree
    }

    /// The Rust models that read `relation`: their column use is not traced.
    pub fn rust_readers(&self, relation: &str) -> Vec<&str> {
        let rust = self.models.iter().filter(|(_, m)| m.language == Language::Rust);
        rust.filter(|(_, m)| m.inputs.iter().any(|i| i == relation)).map(|(name, _)| name.as_str()).collect()
    }

    /// The column a user names: `MODEL.COLUMN` or `SOURCE.TABLE.COLUMN` (case-insensitive
    /// when unambiguous). An unknown relation or column is an error listing near names.
    /// A Rust model's columns are not known, so any column of one is accepted.
    pub fn resolve(&self, text: &str) -> Result<ColumnRef> {
        let text = text.strip_prefix("source:").unwrap_or(text);
        let relations: Vec<(&str, RelationKind)> = self
            .models
            .keys()
            .map(|m| (m.as_str(), RelationKind::Model))
            .chain(self.sources.keys().map(|s| (s.as_str(), RelationKind::Source)))
            .collect();
        // The longest relation name the text starts with, so dotted source names work.
        let matched = relations
            .iter()
            .filter(|(r, _)| {
                text.len() > r.len() + 1 && text.as_bytes()[r.len()] == b'.' && text[..r.len()].eq_ignore_ascii_case(r)
            })
            .max_by_key(|(r, _)| r.len());
        let Some(&(relation, kind)) = matched else {
            if let Some((relation, _)) = relations.iter().find(|(r, _)| r.eq_ignore_ascii_case(text)) {
                let columns = self.columns(relation).unwrap_or_default().join(", ");
                bail!("'{text}' is a relation, not a column: name one of its columns as {relation}.COLUMN ({columns})");
            }
            let Some((prefix, _)) = text.rsplit_once('.') else {
                bail!("'{text}' is not a column: name one as MODEL.COLUMN (fct_results.driver) or SOURCE.TABLE.COLUMN");
            };
            let near = near(prefix, relations.iter().map(|(r, _)| *r));
            bail!(
                "'{prefix}' is not a model or source table of this project{}; pitwall ls --resource-type model source lists them",
                did_you_mean(&near)
            );
        };
        let column = &text[relation.len() + 1..];
        if self.models.get(relation).is_some_and(|m| m.language == Language::Rust) {
            return Ok(ColumnRef::model(relation, column));
        }
        let columns = self.columns(relation).unwrap_or_default();
        let found = columns.iter().find(|c| **c == column).or_else(|| {
            let mut same = columns.iter().filter(|c| c.eq_ignore_ascii_case(column));
            same.next().filter(|_| same.next().is_none())
        });
        match found {
            Some(found) => Ok(ColumnRef { relation: relation.to_owned(), column: (*found).to_owned(), kind }),
            None if columns.is_empty() => {
                let note = self.models.get(relation).and_then(|m| m.note.clone()).unwrap_or_default();
                bail!("the columns of '{relation}' are not known: {note}")
            }
            None => {
                let what = if kind == RelationKind::Model { "model" } else { "source table" };
                let near = near(column, columns.iter().copied());
                bail!(
                    "{what} '{relation}' has no column '{column}'{}; its columns: {}",
                    did_you_mean(&near),
                    columns.join(", ")
                )
            }
        }
    }

    /// The tree `pitwall lineage` prints: `column`, then what it is computed from (`<-`)
    /// or, with `downstream`, what is computed from it (`->`), two spaces per level.
    pub fn render(&self, column: &ColumnRef, downstream: bool) -> String {
        let mut out = format!("{column}\n");
        let rust = self.models.get(&column.relation).filter(|m| m.language == Language::Rust);
        if let Some(model) = rust {
            let inputs = model.inputs.join(", ");
            out.push_str(&format!("  computed in Rust from {inputs}: its column-level lineage is not traced\n"));
        }
        if downstream {
            self.render_downstream(column, &mut out);
        } else if rust.is_none() {
            self.render_upstream(column, &mut out);
        }
        out
    }

    fn render_upstream(&self, column: &ColumnRef, out: &mut String) {
        let tree = self.upstream(&column.relation, &column.column);
        if tree.is_empty() {
            out.push_str(match column.kind {
                RelationKind::Source => "  (a source column: loaded, not computed)\n",
                RelationKind::Model => {
                    "  (no upstream column: computed from constants, or from whether a join matched)\n"
                }
            });
        }
        for (depth, c) in &tree {
            out.push_str(&format!("{}<- {c}\n", "  ".repeat(*depth)));
        }
        if let Some(model) = self.models.get(&column.relation).filter(|m| !m.row_inputs.is_empty()) {
            let rows: Vec<String> = model.row_inputs.iter().map(ToString::to_string).collect();
            let relation = &column.relation;
            out.push_str(&format!("Rows of {relation} are joined, filtered or grouped on: {}\n", rows.join(", ")));
        }
    }

    fn render_downstream(&self, column: &ColumnRef, out: &mut String) {
        let tree = self.downstream(&column.relation, &column.column);
        self.render_rust_readers(&column.relation, 1, out);
        for (depth, c) in &tree {
            out.push_str(&format!("{}-> {c}\n", "  ".repeat(*depth)));
            self.render_rust_readers(&c.relation, depth + 1, out);
        }
        if tree.is_empty() && self.rust_readers(&column.relation).is_empty() {
            out.push_str("  (no model column is computed from it)\n");
        }
    }

    /// A Rust model reading `relation` may use any of its columns: said, not guessed.
    fn render_rust_readers(&self, relation: &str, depth: usize, out: &mut String) {
        for reader in self.rust_readers(relation) {
            let indent = "  ".repeat(depth);
            out.push_str(&format!(
                "{indent}-> {reader} (a Rust model reading {relation}; its column use is not traced)\n"
            ));
        }
    }
}

fn walk_down(
    children: &BTreeMap<(&str, &str), Vec<ColumnRef>>,
    relation: &str,
    column: &str,
    depth: usize,
    tree: &mut Vec<(usize, ColumnRef)>,
) {
    for child in children.get(&(relation, column)).map(Vec::as_slice).unwrap_or_default() {
        tree.push((depth, child.clone()));
        walk_down(children, &child.relation, &child.column, depth + 1, tree);
    }
}

/// `pitwall lineage`: prints the tree of `column` (see [`Lineage::render`]).
pub async fn print(project: &Project, column: &str, downstream: bool) -> Result<bool> {
    let lineage = Lineage::of(project).await?;
    let column = lineage.resolve(column)?;
    print!("{}", lineage.render(&column, downstream));
    Ok(true)
}

/// The lineage of one model, read off the plan the project made of it (see
/// [`Project::plan`]).
fn model_lineage(project: &Project, known: &KnownRelations, node: &Node) -> Result<ModelLineage> {
    let spec = node.spec();
    let sources = spec.sources.iter().map(|s| NodeId::Source(s.clone()).name());
    let mut model = ModelLineage {
        language: spec.language,
        inputs: spec.refs.iter().cloned().chain(sources).collect(),
        columns: Vec::new(),
        row_inputs: Vec::new(),
        note: None,
    };
    if node.model.compiled().is_none() {
        model.note =
            Some(format!("computed in Rust ({}); its columns are known once it runs", spec.original_file_path));
        return Ok(model);
    }
    let Some(plan) = project.plan_of(node.name()) else {
        model.note = Some("it reads a model whose columns are only known once that runs".into());
        return Ok(model);
    };
    let mut tracer = Tracer { known, row_inputs: BTreeSet::new(), approximate: false };
    let origins = match tracer.origins(plan, &[]) {
        Ok(origins) => origins,
        Err(e) => {
            model.note = Some(format!("its plan could not be traced: {e:#}"));
            return Ok(model);
        }
    };
    model.columns = plan
        .schema()
        .fields()
        .iter()
        .zip(origins)
        .map(|(f, o)| ColumnLineage { name: f.name().clone(), upstream: o.into_iter().collect() })
        .collect();
    model.row_inputs = tracer.row_inputs.into_iter().collect();
    if tracer.approximate {
        model.note = Some("part of its plan was traced by column names only, so some lineage may be too wide".into());
    }
    Ok(model)
}

/// Warehouse relations (schema, table) -> the model or source table they hold.
struct KnownRelations {
    default_schema: String,
    by_name: BTreeMap<(String, String), (RelationKind, String)>,
}

impl KnownRelations {
    fn new(default_schema: &str) -> Self {
        KnownRelations { default_schema: default_schema.to_owned(), by_name: BTreeMap::new() }
    }

    fn insert(&mut self, reference: &TableReference, kind: RelationKind, name: &str) {
        let schema = reference.schema().unwrap_or(&self.default_schema).to_owned();
        self.by_name.insert((schema, reference.table().to_owned()), (kind, name.to_owned()));
    }

    fn get(&self, reference: &TableReference) -> Option<&(RelationKind, String)> {
        let schema = reference.schema().unwrap_or(&self.default_schema);
        self.by_name.get(&(schema.to_owned(), reference.table().to_owned()))
    }
}

/// The upstream columns of one column.
type Origins = BTreeSet<ColumnRef>;

/// An input's schema with the origins of its columns: what an expression over it reads.
#[derive(Clone, Copy)]
struct Scope<'a> {
    schema: &'a DFSchema,
    origins: &'a [Origins],
}

impl<'a> Scope<'a> {
    fn resolve(&self, column: &Column) -> Option<&'a Origins> {
        self.schema.maybe_index_of_column(column).map(|i| &self.origins[i])
    }
}

/// Walks one model's plan, computing the origins of every node's output columns.
struct Tracer<'k> {
    known: &'k KnownRelations,
    row_inputs: BTreeSet<ColumnRef>,
    /// Whether a node was traced by column names (see [`Tracer::by_name`]).
    approximate: bool,
}

impl Tracer<'_> {
    /// The origins of each of `plan`'s output columns, in its schema's order. `outer` are
    /// the scopes of the queries enclosing a subquery, for its outer references.
    fn origins(&mut self, plan: &LogicalPlan, outer: &[Scope]) -> Result<Vec<Origins>> {
        let origins = match plan {
            LogicalPlan::TableScan(scan) => self.scan(scan),
            LogicalPlan::Projection(p) => {
                let input = self.origins(&p.input, outer)?;
                self.exprs(&p.expr, Scope { schema: p.input.schema(), origins: &input }, outer)?
            }
            LogicalPlan::Aggregate(aggregate) => self.aggregate(aggregate, outer)?,
            LogicalPlan::Window(w) => {
                let mut input = self.origins(&w.input, outer)?;
                let added = self.exprs(&w.window_expr, Scope { schema: w.input.schema(), origins: &input }, outer)?;
                input.extend(added);
                input
            }
            LogicalPlan::Filter(f) => {
                let input = self.origins(&f.input, outer)?;
                let read = self.expr(&f.predicate, Scope { schema: f.input.schema(), origins: &input }, outer)?;
                self.row_inputs.extend(read);
                input
            }
            LogicalPlan::Join(join) => self.join(join, outer)?,
            LogicalPlan::Union(union) => self.positional_union(union.inputs.iter().map(AsRef::as_ref), outer)?,
            LogicalPlan::RecursiveQuery(r) => {
                self.positional_union([r.static_term.as_ref(), r.recursive_term.as_ref()].into_iter(), outer)?
            }
            LogicalPlan::Distinct(Distinct::On(on)) => {
                let input = self.origins(&on.input, outer)?;
                let scope = Scope { schema: on.input.schema(), origins: &input };
                let keys = self.exprs(&on.on_expr, scope, outer)?;
                self.row_inputs.extend(keys.into_iter().flatten());
                self.exprs(&on.select_expr, scope, outer)?
            }
            LogicalPlan::Values(_) | LogicalPlan::EmptyRelation(_) => {
                vec![Origins::new(); plan.schema().fields().len()]
            }
            // One input, and its columns are the output's, in order.
            LogicalPlan::Sort(_)
            | LogicalPlan::Limit(_)
            | LogicalPlan::Repartition(_)
            | LogicalPlan::SubqueryAlias(_)
            | LogicalPlan::Subquery(_)
            | LogicalPlan::Distinct(Distinct::All(_)) => self.origins(plan.inputs()[0], outer)?,
            _ => self.by_name(plan, outer)?,
        };
        if origins.len() != plan.schema().fields().len() {
            // Cannot happen for the nodes above; a safety net rather than a panic.
            return self.by_name(plan, outer);
        }
        Ok(origins)
    }

    /// A scan of a model or source table is where its columns come from; a scan of
    /// anything else (a recursive CTE's work table) contributes nothing.
    fn scan(&self, scan: &TableScan) -> Vec<Origins> {
        let relation = self.known.get(&scan.table_name);
        let fields = scan.projected_schema.fields().iter();
        fields
            .map(|f| match relation {
                Some((RelationKind::Model, name)) => Origins::from([ColumnRef::model(name, f.name())]),
                Some((RelationKind::Source, name)) => Origins::from([ColumnRef::source(name, f.name())]),
                None => Origins::new(),
            })
            .collect()
    }

    /// Group keys (also row inputs), the grouping id of GROUPING SETS, then aggregates.
    fn aggregate(&mut self, aggregate: &Aggregate, outer: &[Scope]) -> Result<Vec<Origins>> {
        let input = self.origins(&aggregate.input, outer)?;
        let scope = Scope { schema: aggregate.input.schema(), origins: &input };
        let mut out = Vec::new();
        for key in grouping_set_to_exprlist(&aggregate.group_expr)? {
            let read = self.expr(key, scope, outer)?;
            self.row_inputs.extend(read.iter().cloned());
            out.push(read);
        }
        if matches!(aggregate.group_expr.as_slice(), [Expr::GroupingSet(_)]) {
            out.push(Origins::new()); // __grouping_id, computed from which set a row is in
        }
        out.extend(self.exprs(&aggregate.aggr_expr, scope, outer)?);
        Ok(out)
    }

    /// Each side's columns as they are (the output is left then right, or one side for
    /// semi and anti joins, plus a mark for mark joins); the keys and filter are row inputs.
    fn join(&mut self, join: &Join, outer: &[Scope]) -> Result<Vec<Origins>> {
        let left = self.origins(&join.left, outer)?;
        let right = self.origins(&join.right, outer)?;
        let left_scope = Scope { schema: join.left.schema(), origins: &left };
        let right_scope = Scope { schema: join.right.schema(), origins: &right };
        for (l, r) in &join.on {
            let (l, r) = (self.expr(l, left_scope, outer)?, self.expr(r, right_scope, outer)?);
            self.row_inputs.extend(l.into_iter().chain(r));
        }
        let both: Vec<Origins> = left.iter().chain(&right).cloned().collect();
        if let Some(filter) = &join.filter {
            let schema = join.left.schema().join(join.right.schema())?;
            let read = self.expr(filter, Scope { schema: &schema, origins: &both }, outer)?;
            self.row_inputs.extend(read);
        }
        Ok(match join.join_type {
            JoinType::Inner | JoinType::Left | JoinType::Right | JoinType::Full => both,
            JoinType::LeftSemi | JoinType::LeftAnti => left,
            JoinType::RightSemi | JoinType::RightAnti => right,
            JoinType::LeftMark => left.into_iter().chain([Origins::new()]).collect(),
            JoinType::RightMark => right.into_iter().chain([Origins::new()]).collect(),
        })
    }

    /// Column i of a union is column i of every branch.
    fn positional_union<'p>(
        &mut self,
        inputs: impl Iterator<Item = &'p LogicalPlan>,
        outer: &[Scope],
    ) -> Result<Vec<Origins>> {
        let mut out: Vec<Origins> = Vec::new();
        for input in inputs {
            let branch = self.origins(input, outer)?;
            out.resize(out.len().max(branch.len()), Origins::new());
            for (all, one) in out.iter_mut().zip(branch) {
                all.extend(one);
            }
        }
        Ok(out)
    }

    /// A node this tracer has no rule for (an extension, UNNEST): each output column
    /// takes the origins of the input column of the same name, or, when no input has one,
    /// of every input column. Over-approximate, so the model's lineage is marked so.
    fn by_name(&mut self, plan: &LogicalPlan, outer: &[Scope]) -> Result<Vec<Origins>> {
        self.approximate = true;
        let mut inputs = Vec::new();
        for input in plan.inputs() {
            inputs.push((input.schema().as_ref(), self.origins(input, outer)?));
        }
        let everything: Origins = inputs.iter().flat_map(|(_, o)| o.iter().flatten().cloned()).collect();
        let origins = plan.schema().iter().map(|(qualifier, field)| {
            let column = Column::new(qualifier.cloned(), field.name());
            let same = inputs.iter().find_map(|(schema, o)| Scope { schema, origins: o }.resolve(&column).cloned());
            same.unwrap_or_else(|| everything.clone())
        });
        Ok(origins.collect())
    }

    fn exprs(&mut self, exprs: &[Expr], scope: Scope, outer: &[Scope]) -> Result<Vec<Origins>> {
        exprs.iter().map(|e| self.expr(e, scope, outer)).collect()
    }

    /// The origins of the columns `expr` reads from `scope` (or, as outer references, from
    /// an enclosing query's), and of the output of the scalar, IN and ANY/ALL subqueries it
    /// uses. EXISTS yields no value from its subquery, so it adds nothing.
    fn expr(&mut self, expr: &Expr, scope: Scope, outer: &[Scope]) -> Result<Origins> {
        let mut found = Origins::new();
        let mut missing = None;
        let mut subqueries: Vec<&Subquery> = Vec::new();
        expr.apply(|e| {
            let read = match e {
                Expr::Column(c) => Some((c, scope.resolve(c))),
                Expr::OuterReferenceColumn(_, c) => Some((c, outer.iter().rev().find_map(|s| s.resolve(c)))),
                Expr::ScalarSubquery(s) => {
                    subqueries.push(s);
                    None
                }
                Expr::InSubquery(s) => {
                    subqueries.push(&s.subquery);
                    None
                }
                Expr::SetComparison(s) => {
                    subqueries.push(&s.subquery);
                    None
                }
                _ => None,
            };
            match read {
                Some((_, Some(origins))) => found.extend(origins.iter().cloned()),
                Some((c, None)) => missing = Some(c.clone()),
                None => {}
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        if let Some(c) = missing {
            bail!("column {c} of expression {expr} is not in its input");
        }
        let mut enclosing = outer.to_vec();
        enclosing.push(scope);
        for subquery in subqueries {
            found.extend(self.origins(&subquery.subquery, &enclosing)?.into_iter().flatten());
        }
        Ok(found)
    }
}

/// Up to five of `candidates` close to `word` (edit distance, or one containing the
/// other), nearest first.
fn near<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let word = word.to_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .filter_map(|c| {
            let lower = c.to_lowercase();
            let distance = edit_distance(&word, &lower);
            let close = distance <= (word.len() / 3).max(2) || lower.contains(&word) || word.contains(&lower);
            close.then_some((distance, c))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(5).map(|(_, c)| c).collect()
}

/// ` (did you mean a, b?)`, or nothing.
fn did_you_mean(near: &[&str]) -> String {
    match near {
        [] => String::new(),
        _ => format!(" (did you mean {}?)", near.join(", ")),
    }
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;
    use datafusion::prelude::SessionContext;

    use super::*;

    /// Source tables `s.a(x, y, k)` and `s.b(k, z)` in schema `raw`, and a model `m(k, v)`
    /// in `analytics`.
    fn tiny() -> (SessionContext, KnownRelations) {
        let session = SessionContext::new();
        let catalog = session.catalog("datafusion").unwrap();
        for schema in ["raw", "analytics"] {
            catalog.register_schema(schema, Arc::new(datafusion::catalog::MemorySchemaProvider::new())).unwrap();
        }
        let mut known = KnownRelations::new("analytics");
        let tables: [(&str, &str, RelationKind, &[&str]); 3] = [
            ("raw", "a", RelationKind::Source, &["x", "y", "k"]),
            ("raw", "b", RelationKind::Source, &["k", "z"]),
            ("analytics", "m", RelationKind::Model, &["k", "v"]),
        ];
        for (schema, table, kind, columns) in tables {
            let fields: Vec<Field> = columns.iter().map(|c| Field::new(*c, DataType::Int64, true)).collect();
            let memory = MemTable::try_new(Arc::new(Schema::new(fields)), vec![vec![]]).unwrap();
            let reference = TableReference::partial(schema, table);
            session.register_table(reference.clone(), Arc::new(memory)).unwrap();
            let name = if kind == RelationKind::Source { format!("s.{table}") } else { table.to_owned() };
            known.insert(&reference, kind, &name);
        }
        (session, known)
    }

    /// Each output column of `sql` with its upstream columns, as `relation.column` texts,
    /// and the row inputs.
    async fn trace(sql: &str) -> (Vec<(String, Vec<String>)>, Vec<String>) {
        let (session, known) = tiny();
        let plan = session.state().create_logical_plan(sql).await.unwrap();
        let mut tracer = Tracer { known: &known, row_inputs: BTreeSet::new(), approximate: false };
        let origins = tracer.origins(&plan, &[]).unwrap();
        assert!(!tracer.approximate, "{sql}: traced by names");
        let text = |o: &ColumnRef| format!("{}.{}", o.relation, o.column);
        let columns = plan.schema().fields().iter().zip(origins);
        let columns = columns.map(|(f, o)| (f.name().clone(), o.iter().map(text).collect())).collect();
        (columns, tracer.row_inputs.iter().map(text).collect())
    }

    fn expect(columns: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        columns.iter().map(|(c, o)| (c.to_string(), o.iter().map(|s| s.to_string()).collect())).collect()
    }

    #[tokio::test]
    async fn an_alias_keeps_its_column_and_a_star_keeps_every_column() {
        let (columns, _) = trace("select x as renamed, * from raw.a").await;
        let expected: &[(&str, &[&str])] =
            &[("renamed", &["s.a.x"]), ("x", &["s.a.x"]), ("y", &["s.a.y"]), ("k", &["s.a.k"])];
        assert_eq!(columns, expect(expected));
    }

    #[tokio::test]
    async fn an_expression_of_two_columns_comes_from_both() {
        let (columns, _) = trace("select x + y * 2 as total, cast(y as double) as y, 1 as one from raw.a").await;
        assert_eq!(columns, expect(&[("total", &["s.a.x", "s.a.y"]), ("y", &["s.a.y"]), ("one", &[])]));
    }

    #[tokio::test]
    async fn a_join_takes_each_column_from_its_side_and_its_keys_decide_rows() {
        let sql = "select a.x, b.z, b.k from raw.a as a left join raw.b as b on a.k = b.k where a.y > 0";
        let (columns, rows) = trace(sql).await;
        assert_eq!(columns, expect(&[("x", &["s.a.x"]), ("z", &["s.b.z"]), ("k", &["s.b.k"])]));
        assert_eq!(rows, ["s.a.k", "s.a.y", "s.b.k"]);
    }

    #[tokio::test]
    async fn an_aggregate_comes_from_its_argument_and_group_keys_decide_rows() {
        let sql = "select k, sum(x) as sx, count(*) as n, max(x + y) as m from raw.a group by k having min(y) > 1";
        let (columns, rows) = trace(sql).await;
        assert_eq!(columns, expect(&[("k", &["s.a.k"]), ("sx", &["s.a.x"]), ("n", &[]), ("m", &["s.a.x", "s.a.y"])]));
        assert_eq!(rows, ["s.a.k", "s.a.y"]);
    }

    #[tokio::test]
    async fn a_window_function_comes_from_its_arguments_partition_and_order() {
        let sql = "select x, row_number() over (partition by k order by y) as rn, \
                   max(x) over (partition by k) as mx from raw.a";
        let (columns, _) = trace(sql).await;
        assert_eq!(columns, expect(&[("x", &["s.a.x"]), ("rn", &["s.a.k", "s.a.y"]), ("mx", &["s.a.k", "s.a.x"])]));
    }

    #[tokio::test]
    async fn ctes_and_derived_tables_are_traced_through() {
        let sql = "with c as (select x * 2 as d, k from raw.a), e as (select d + 1 as f, k from c) \
                   select f, g from e cross join (select max(z) as g from raw.b) as t";
        let (columns, _) = trace(sql).await;
        assert_eq!(columns, expect(&[("f", &["s.a.x"]), ("g", &["s.b.z"])]));
    }

    #[tokio::test]
    async fn a_union_column_comes_from_every_branch() {
        let sql = "select x as v, k from raw.a union all select z, k from raw.b union select v, 0 from analytics.m";
        let (columns, _) = trace(sql).await;
        assert_eq!(columns, expect(&[("v", &["m.v", "s.a.x", "s.b.z"]), ("k", &["s.a.k", "s.b.k"])]));
    }

    #[tokio::test]
    async fn a_scalar_subquery_brings_its_output_and_its_outer_references() {
        let sql = "select (select max(z) + a.y from raw.b where b.k = a.k) as m, \
                   x in (select z from raw.b) as found from raw.a as a";
        let (columns, _) = trace(sql).await;
        assert_eq!(columns, expect(&[("m", &["s.a.y", "s.b.z"]), ("found", &["s.a.x", "s.b.z"])]));
    }

    #[tokio::test]
    async fn a_values_list_is_a_constant() {
        let sql = "with v (name) as (values ('a'), ('b')) select v.name, m.v from analytics.m as m left join v on true";
        let (columns, _) = trace(sql).await;
        assert_eq!(columns, expect(&[("name", &[]), ("v", &["m.v"])]));
    }

    #[test]
    fn edit_distance_counts_insertions_deletions_and_substitutions() {
        assert_eq!(edit_distance("driver", "driver"), 0);
        assert_eq!(edit_distance("drivr", "driver"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
