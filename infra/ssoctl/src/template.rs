//! Reads template.yaml, the one source of truth for the table's schema and the route set.

use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("template.yaml is not valid YAML: {0}")]
    Yaml(String),
    #[error("template.yaml: {0}")]
    Shape(String),
}

/// Where template.yaml is: `SSO_TEMPLATE`, else the repository root this binary was built from.
pub fn default_path() -> PathBuf {
    std::env::var_os("SSO_TEMPLATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml"))
}

pub struct Template {
    root: Yaml,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAttr {
    pub name: String,
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gsi {
    pub name: String,
    pub keys: Vec<KeyAttr>,
    pub projection: String,
}

/// The table's schema as template.yaml declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    /// (name, type) of each AttributeDefinition.
    pub attributes: Vec<(String, String)>,
    pub keys: Vec<KeyAttr>,
    pub gsis: Vec<Gsi>,
    pub billing_mode: String,
    pub ttl_attribute: Option<String>,
}

fn s(y: &Yaml, what: &str) -> Result<String, TemplateError> {
    y.as_str()
        .map(str::to_string)
        .ok_or_else(|| TemplateError::Shape(format!("{what} must be a string")))
}

fn keys(y: &Yaml, what: &str) -> Result<Vec<KeyAttr>, TemplateError> {
    y.as_vec()
        .ok_or_else(|| TemplateError::Shape(format!("{what} must be a list")))?
        .iter()
        .map(|k| {
            Ok(KeyAttr {
                name: s(&k["AttributeName"], what)?,
                key_type: s(&k["KeyType"], what)?,
            })
        })
        .collect()
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let mut docs =
            YamlLoader::load_from_str(text).map_err(|e| TemplateError::Yaml(e.to_string()))?;
        if docs.is_empty() {
            return Err(TemplateError::Shape("empty document".into()));
        }
        Ok(Template {
            root: docs.swap_remove(0),
        })
    }

    pub fn table(&self) -> Result<TableDef, TemplateError> {
        let p = &self.root["Resources"]["Table"]["Properties"];
        if p.is_badvalue() {
            return Err(TemplateError::Shape(
                "Resources.Table.Properties is missing".into(),
            ));
        }
        let attributes = p["AttributeDefinitions"]
            .as_vec()
            .ok_or_else(|| TemplateError::Shape("AttributeDefinitions must be a list".into()))?
            .iter()
            .map(|a| {
                Ok((
                    s(&a["AttributeName"], "AttributeName")?,
                    s(&a["AttributeType"], "AttributeType")?,
                ))
            })
            .collect::<Result<_, TemplateError>>()?;
        let gsis = match p["GlobalSecondaryIndexes"].as_vec() {
            None => Vec::new(),
            Some(list) => list
                .iter()
                .map(|g| {
                    Ok(Gsi {
                        name: s(&g["IndexName"], "IndexName")?,
                        keys: keys(&g["KeySchema"], "GSI KeySchema")?,
                        projection: s(&g["Projection"]["ProjectionType"], "ProjectionType")?,
                    })
                })
                .collect::<Result<_, TemplateError>>()?,
        };
        let ttl = &p["TimeToLiveSpecification"];
        let ttl_attribute = match ttl["Enabled"].as_bool() {
            Some(true) => Some(s(
                &ttl["AttributeName"],
                "TimeToLiveSpecification.AttributeName",
            )?),
            _ => None,
        };
        Ok(TableDef {
            attributes,
            keys: keys(&p["KeySchema"], "KeySchema")?,
            gsis,
            billing_mode: p["BillingMode"]
                .as_str()
                .unwrap_or("PROVISIONED")
                .to_string(),
            ttl_attribute,
        })
    }

    /// Every (HttpApi event path, binary) pair of the template's functions.
    pub fn routes(&self) -> Result<Vec<(String, String)>, TemplateError> {
        let resources = self.root["Resources"]
            .as_hash()
            .ok_or_else(|| TemplateError::Shape("Resources must be a mapping".into()))?;
        let mut out = Vec::new();
        for (_, res) in resources {
            if res["Type"].as_str() != Some("AWS::Serverless::Function") {
                continue;
            }
            let binary = s(
                &res["Metadata"]["BuildProperties"]["Binary"],
                "Metadata.BuildProperties.Binary",
            )?;
            let Some(events) = res["Properties"]["Events"].as_hash() else {
                continue;
            };
            for (_, ev) in events {
                if ev["Type"].as_str() == Some("HttpApi") {
                    out.push((s(&ev["Properties"]["Path"], "event Path")?, binary.clone()));
                }
            }
        }
        Ok(out)
    }

    /// The environment variables every function gets (Globals.Function.Environment.Variables).
    pub fn global_env_vars(&self) -> Vec<String> {
        self.root["Globals"]["Function"]["Environment"]["Variables"]
            .as_hash()
            .map(|vars| {
                vars.keys()
                    .filter_map(|k| k.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The HTTP methods the template's HttpApi events use.
    pub fn methods(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(resources) = self.root["Resources"].as_hash() {
            for (_, res) in resources {
                if let Some(events) = res["Properties"]["Events"].as_hash() {
                    for (_, ev) in events {
                        if let Some(m) = ev["Properties"]["Method"].as_str() {
                            out.push(m.to_string());
                        }
                    }
                }
            }
        }
        out
    }
}
