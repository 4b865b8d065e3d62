//! Authorization with Cedar (DESIGN §8). Every decision goes through [`Authz::is_allowed`].
//!
//! Roles are per workspace and reach policies as `context.roles`, taken from the membership
//! of the resource's own workspace, so a role in one workspace never counts in another.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicyId, PolicySet, Request,
    RestrictedExpression, Schema, ValidationMode, Validator,
};

pub const ROLES: &[&str] = engine::workflow::BUILT_IN_ROLES;

/// A workspace role name: the built-in roles above, or a factory's own (`qe`, `mrb`,
/// `iqc-inspector`), which carry no permission until a workspace policy or a form's field
/// access names them.
pub fn is_role_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Read,
    Create,
    Update,
    Delete,
    Design,
    Admin,
    Approve,
    Export,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Design => "design",
            Action::Admin => "admin",
            Action::Approve => "approve",
            Action::Export => "export",
        }
    }
}

/// Who asks: a user, whether they administer the installation, and their roles in the
/// workspace of the resource.
#[derive(Clone, Debug)]
pub struct Principal<'a> {
    pub user_id: &'a str,
    pub is_admin: bool,
    pub roles: &'a [String],
}

/// What is asked about.
#[derive(Clone, Debug)]
pub enum Resource<'a> {
    Workspace { id: &'a str },
    Form { id: &'a str, workspace: &'a str },
    Record { id: &'a str, form: &'a str, workspace: &'a str, created_by: &'a str },
}

pub struct Authz {
    schema: Schema,
    policies: Arc<Policies>,
    authorizer: Authorizer,
    /// Defaults plus a workspace's own policies, by workspace, with the `updated_at` of the
    /// text they were built from (another server process may have changed it since).
    combined: Mutex<HashMap<String, (i64, Arc<Policies>)>>,
    /// The serial number of the next policy set built.
    next_serial: AtomicU64,
    /// Decisions on workspaces and forms already made, by everything they depend on.
    decisions: Mutex<HashMap<DecisionKey, bool>>,
}

/// A policy set with a serial number no other set of this process gets, so that a decision
/// remembered for one set is never taken for another.
pub struct Policies {
    serial: u64,
    set: PolicySet,
}

/// Everything a decision on a workspace or a form depends on: the policy set, the
/// principal's entity and roles (its only attributes and context), the action and the
/// resource (a form's only attribute and parent is its workspace). Cedar decides the same
/// way for the same inputs, so a decision is remembered under them. Decisions on records are
/// not (one per record would crowd out the rest), nor are requests that failed to build.
#[derive(Hash, PartialEq, Eq)]
struct DecisionKey {
    policies: u64,
    user_id: String,
    is_admin: bool,
    roles: Vec<String>,
    action: Action,
    resource: (&'static str, String, String),
}

/// Past this many remembered decisions the memo starts over.
const DECISIONS: usize = 10_000;

/// The text of the default policies, shown to admins who write their own.
pub const DEFAULT_POLICIES: &str = include_str!("defaults.cedar");

fn uid(kind: &str, id: &str) -> EntityUid {
    let name = EntityTypeName::from_str(&format!("Formwork::{kind}")).expect("static type name");
    EntityUid::from_type_name_and_id(name, EntityId::new(id))
}

impl Authz {
    /// The schema and the default policies, both shipped with the server and validated here.
    pub fn new() -> Result<Authz, String> {
        let (schema, _warnings) = Schema::from_cedarschema_str(include_str!("schema.cedarschema"))
            .map_err(|e| format!("cedar schema: {e}"))?;
        let policies = PolicySet::from_str(DEFAULT_POLICIES).map_err(|e| format!("default policies: {e}"))?;
        let authz = Authz {
            schema,
            policies: Arc::new(Policies { serial: 0, set: policies }),
            authorizer: Authorizer::new(),
            combined: Mutex::default(),
            next_serial: AtomicU64::new(1),
            decisions: Mutex::default(),
        };
        authz.validate(&authz.policies.set)?;
        Ok(authz)
    }

    /// Checks policies against the schema (strict mode): unknown attributes, entity types,
    /// actions and type errors are refused.
    pub fn validate(&self, policies: &PolicySet) -> Result<(), String> {
        let result = Validator::new(self.schema.clone()).validate(policies, ValidationMode::Strict);
        if result.validation_passed() {
            Ok(())
        } else {
            Err(result.validation_errors().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))
        }
    }

    /// Parses and validates a workspace's own policies (static policies only).
    pub fn parse_policies(&self, text: &str) -> Result<PolicySet, String> {
        let policies = PolicySet::from_str(text).map_err(|e| e.to_string())?;
        if policies.templates().next().is_some() {
            return Err("policy templates are not supported; write static policies".to_owned());
        }
        self.validate(&policies)?;
        Ok(policies)
    }

    /// The defaults plus `text`, the workspace's own policies as stored at `updated_at`.
    pub fn combined(&self, workspace_id: &str, updated_at: i64, text: &str) -> Result<Arc<Policies>, String> {
        let mut cache = self.combined.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, set)) = cache.get(workspace_id)
            && *at == updated_at
        {
            return Ok(set.clone());
        }
        let own = self.parse_policies(text)?;
        let mut set = self.policies.set.clone();
        for (index, policy) in own.policies().enumerate() {
            set.add(policy.new_id(PolicyId::new(format!("workspace-{index}")))).map_err(|e| e.to_string())?;
        }
        let serial = self.next_serial.fetch_add(1, Ordering::Relaxed);
        let set = Arc::new(Policies { serial, set });
        cache.insert(workspace_id.to_owned(), (updated_at, set.clone()));
        Ok(set)
    }

    /// Decides with the default policies.
    pub fn is_allowed(&self, principal: &Principal<'_>, action: Action, resource: &Resource<'_>) -> bool {
        self.is_allowed_with(&self.policies, principal, action, resource)
    }

    /// Decides with `policies` (the defaults, or a workspace's combined set).
    pub fn is_allowed_with(
        &self,
        policies: &Policies,
        principal: &Principal<'_>,
        action: Action,
        resource: &Resource<'_>,
    ) -> bool {
        let key = match resource {
            Resource::Workspace { id } => Some(("workspace", (*id).to_owned(), String::new())),
            Resource::Form { id, workspace } => Some(("form", (*id).to_owned(), (*workspace).to_owned())),
            Resource::Record { .. } => None,
        }
        .map(|resource| DecisionKey {
            policies: policies.serial,
            user_id: principal.user_id.to_owned(),
            is_admin: principal.is_admin,
            roles: principal.roles.to_vec(),
            action,
            resource,
        });
        if let Some(key) = &key
            && let Some(&allowed) = self.decisions.lock().unwrap_or_else(|p| p.into_inner()).get(key)
        {
            return allowed;
        }
        match self.decide(&policies.set, principal, action, resource) {
            Ok(allowed) => {
                if let Some(key) = key {
                    let mut decisions = self.decisions.lock().unwrap_or_else(|p| p.into_inner());
                    if decisions.len() >= DECISIONS {
                        decisions.clear();
                    }
                    decisions.insert(key, allowed);
                }
                allowed
            }
            Err(error) => {
                // A request the schema rejects is a bug in the server; deny and say so.
                tracing::error!(%error, "authorization request could not be built");
                false
            }
        }
    }

    fn decide(
        &self,
        policies: &PolicySet,
        principal: &Principal<'_>,
        action: Action,
        resource: &Resource<'_>,
    ) -> Result<bool, String> {
        let user = uid("User", principal.user_id);
        let user_entity = Entity::new(
            user.clone(),
            HashMap::from([("is_admin".to_owned(), RestrictedExpression::new_bool(principal.is_admin))]),
            HashSet::new(),
        )
        .map_err(|e| e.to_string())?;
        let mut entities = vec![user_entity];
        let resource_uid = match resource {
            Resource::Workspace { id } => {
                let workspace = uid("Workspace", id);
                entities.push(Entity::new_no_attrs(workspace.clone(), HashSet::new()));
                workspace
            }
            Resource::Form { id, workspace } => {
                let workspace_uid = uid("Workspace", workspace);
                let form = uid("Form", id);
                entities.push(Entity::new_no_attrs(workspace_uid.clone(), HashSet::new()));
                entities.push(
                    Entity::new(
                        form.clone(),
                        HashMap::from([(
                            "workspace".to_owned(),
                            RestrictedExpression::new_entity_uid(workspace_uid.clone()),
                        )]),
                        HashSet::from([workspace_uid]),
                    )
                    .map_err(|e| e.to_string())?,
                );
                form
            }
            Resource::Record { id, form, workspace, created_by } => {
                let workspace_uid = uid("Workspace", workspace);
                let form_uid = uid("Form", form);
                let record = uid("Record", id);
                let creator = uid("User", created_by);
                entities.push(Entity::new_no_attrs(workspace_uid.clone(), HashSet::new()));
                entities.push(
                    Entity::new(
                        form_uid.clone(),
                        HashMap::from([(
                            "workspace".to_owned(),
                            RestrictedExpression::new_entity_uid(workspace_uid.clone()),
                        )]),
                        HashSet::from([workspace_uid.clone()]),
                    )
                    .map_err(|e| e.to_string())?,
                );
                if creator != user {
                    let attrs = HashMap::from([("is_admin".to_owned(), RestrictedExpression::new_bool(false))]);
                    entities.push(Entity::new(creator.clone(), attrs, HashSet::new()).map_err(|e| e.to_string())?);
                }
                entities.push(
                    Entity::new(
                        record.clone(),
                        HashMap::from([
                            ("workspace".to_owned(), RestrictedExpression::new_entity_uid(workspace_uid)),
                            ("form".to_owned(), RestrictedExpression::new_entity_uid(form_uid.clone())),
                            ("created_by".to_owned(), RestrictedExpression::new_entity_uid(creator)),
                        ]),
                        HashSet::from([form_uid]),
                    )
                    .map_err(|e| e.to_string())?,
                );
                record
            }
        };
        let entities = Entities::from_entities(entities, Some(&self.schema)).map_err(|e| e.to_string())?;
        let roles = principal.roles.iter().map(|r| RestrictedExpression::new_string(r.clone()));
        let context = Context::from_pairs([("roles".to_owned(), RestrictedExpression::new_set(roles))])
            .map_err(|e| e.to_string())?;
        let action_uid = uid("Action", action.name());
        let request =
            Request::new(user, action_uid, resource_uid, context, Some(&self.schema)).map_err(|e| e.to_string())?;
        let response = self.authorizer.is_authorized(&request, policies, &entities);
        Ok(response.decision() == Decision::Allow)
    }
}
