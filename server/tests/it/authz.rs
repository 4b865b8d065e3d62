//! The default Cedar policies, decision by decision.

use server::authz::{Action, Authz, Principal, Resource};

fn check(roles: &[&str], is_admin: bool, action: Action, resource: &Resource<'_>, expected: bool) {
    let authz = Authz::new().expect("shipped policies load");
    let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
    let principal = Principal { user_id: "u-me", is_admin, roles: &roles };
    assert_eq!(
        authz.is_allowed(&principal, action, resource),
        expected,
        "roles {roles:?} admin {is_admin} {action:?} {resource:?}"
    );
}

const WS: Resource<'static> = Resource::Workspace { id: "w1" };
const FORM: Resource<'static> = Resource::Form { id: "f1", workspace: "w1" };
const MINE: Resource<'static> = Resource::Record { id: "r1", form: "f1", workspace: "w1", created_by: "u-me" };
const THEIRS: Resource<'static> = Resource::Record { id: "r2", form: "f1", workspace: "w1", created_by: "u-other" };

#[test]
fn roles_grant_what_they_should_and_nothing_more() {
    use Action::*;
    // No role: nothing.
    for action in [Read, Create, Update, Delete, Design, Admin, Approve, Export] {
        for resource in [&WS, &FORM, &MINE, &THEIRS] {
            check(&[], false, action, resource, false);
        }
    }
    // Installation admin and workspace admin: everything.
    for action in [Read, Create, Update, Delete, Design, Admin, Approve, Export] {
        check(&[], true, action, &THEIRS, true);
        check(&["admin"], false, action, &THEIRS, true);
    }
    // Designer: reads, designs, edits, but neither deletes nor administers nor approves.
    check(&["designer"], false, Design, &FORM, true);
    check(&["designer"], false, Update, &THEIRS, true);
    check(&["designer"], false, Delete, &THEIRS, false);
    check(&["designer"], false, Admin, &WS, false);
    check(&["designer"], false, Approve, &THEIRS, false);
    // Member: reads forms, submits, reads and edits only their own records.
    check(&["member"], false, Read, &WS, true);
    check(&["member"], false, Read, &FORM, true);
    check(&["member"], false, Create, &FORM, true);
    check(&["member"], false, Read, &MINE, true);
    check(&["member"], false, Update, &MINE, true);
    check(&["member"], false, Read, &THEIRS, false);
    check(&["member"], false, Update, &THEIRS, false);
    check(&["member"], false, Delete, &MINE, false);
    check(&["member"], false, Design, &FORM, false);
    // Approver: reads and approves records, submits nothing.
    check(&["approver"], false, Read, &THEIRS, true);
    check(&["approver"], false, Approve, &THEIRS, true);
    check(&["approver"], false, Create, &FORM, false);
    check(&["approver"], false, Update, &THEIRS, false);
    // Viewer: reads only.
    check(&["viewer"], false, Read, &THEIRS, true);
    check(&["viewer"], false, Read, &FORM, true);
    check(&["viewer"], false, Create, &FORM, false);
    check(&["viewer"], false, Export, &THEIRS, false);
    // Roles add up.
    check(&["viewer", "member"], false, Create, &FORM, true);
    // Unknown role names grant nothing.
    check(&["superuser"], false, Read, &FORM, false);
}

#[test]
fn workspace_policies_are_validated_against_the_schema() {
    let authz = Authz::new().unwrap();
    let good = r#"permit (principal, action == Formwork::Action::"read", resource is Formwork::Record)
        when { context.roles.contains("auditor") };"#;
    assert!(authz.parse_policies(good).is_ok());
    for bad in [
        // Unknown attribute.
        r#"permit (principal, action, resource) when { principal.department == "QA" };"#,
        // Unknown action.
        r#"permit (principal, action == Formwork::Action::"fly", resource);"#,
        // Unknown entity type.
        r#"permit (principal is Formwork::Robot, action, resource);"#,
        // Type error.
        r#"permit (principal, action, resource) when { context.roles == "admin" };"#,
        // Not Cedar at all.
        "allow everything",
    ] {
        assert!(authz.parse_policies(bad).is_err(), "{bad} should be refused");
    }
}
