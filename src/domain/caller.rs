//! The caller as a value: who acts, with which role, from where in the tree. Rules take it
//! as it is; `auth` loads it from a token and the database.

use uuid::Uuid;

use super::roles::{OrgKind, Role, UnitKind};

/// The part of the org tree a caller sees: a unit and everything below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The deployment admin: every city.
    All,
    /// A city and its towns and villages.
    City(Uuid),
    /// A town and its villages.
    Town(Uuid),
    /// One village.
    Village(Uuid),
}

/// Where a row sits in the tree (its city, town and village, as known).
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    /// The row's city.
    pub city_id: Uuid,
    /// The row's town, if it sits at a town or village.
    pub town_id: Option<Uuid>,
    /// The row's village, if it sits at a village.
    pub village_id: Option<Uuid>,
}

impl Scope {
    /// Whether a row placed at `p` lies inside this scope.
    pub fn holds(&self, p: &Placement) -> bool {
        match *self {
            Scope::All => true,
            Scope::City(c) => p.city_id == c,
            Scope::Town(t) => p.town_id == Some(t),
            Scope::Village(v) => p.village_id == Some(v),
        }
    }
}

/// The signed-in user, as the database says it is right now.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user's id.
    pub user_id: Uuid,
    /// The user's login name.
    pub username: String,
    /// The user's role.
    pub role: Role,
    /// The user's organisation (none for the deployment admin).
    pub organization_id: Option<Uuid>,
    /// That organisation's kind.
    pub org_kind: Option<OrgKind>,
    /// The organisation's unit.
    pub unit_id: Option<Uuid>,
    /// The unit's kind.
    pub unit_kind: Option<UnitKind>,
    /// The caller's city (none for the deployment admin).
    pub city_id: Option<Uuid>,
    /// The caller's town, when its unit is a town or a village.
    pub town_id: Option<Uuid>,
    /// What the caller may see.
    pub scope: Scope,
    /// A helper who signs in (role `helper`): its helper record. It sees only the persons of
    /// its own contact groups and their needs.
    pub helper_id: Option<Uuid>,
}

impl Caller {
    /// The deployment admin (no organisation): every city, and the only one who creates cities.
    pub fn is_deployment_admin(&self) -> bool {
        self.role == Role::Admin && self.organization_id.is_none()
    }

    /// Whether the caller has one of the roles.
    pub fn is(&self, roles: &[Role]) -> bool {
        roles.contains(&self.role)
    }

    /// Narrow roles see only what was routed to them, not their unit: a department or a site
    /// what was routed to its organisation, a helper the persons of its contact groups.
    pub fn is_narrow(&self) -> bool {
        matches!(
            self.role,
            Role::DepartmentOfficer | Role::SiteStaff | Role::Helper
        )
    }

    /// The helper record of a helper who signs in (role `helper`).
    pub fn helper(&self) -> Option<Uuid> {
        if self.role == Role::Helper {
            // a helper without its record sees nothing (the nil id matches no group)
            Some(self.helper_id.unwrap_or(Uuid::nil()))
        } else {
            None
        }
    }
}

/// Who did something: a user, or the system (the sweeper).
#[derive(Debug, Clone)]
pub struct Actor {
    /// The user (none for the system).
    pub user_id: Option<Uuid>,
    /// The username, or `system`.
    pub name: String,
}

impl Actor {
    /// The sweeper.
    pub fn system() -> Actor {
        Actor {
            user_id: None,
            name: "system".into(),
        }
    }

    /// A signed-in caller.
    pub fn of(caller: &Caller) -> Actor {
        Actor {
            user_id: Some(caller.user_id),
            name: caller.username.clone(),
        }
    }
}
