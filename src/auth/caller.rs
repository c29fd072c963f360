//! The authenticated caller, loaded fresh per request, and the part of the tree it may see.

use diesel::sql_types::{Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::cached::SqlOnce;
pub use crate::domain::caller::{Caller, Placement, Scope};
use crate::domain::roles::{OrgKind, Role, UnitKind};
use crate::error::{Error, Result};

type CallerTuple = (
    Uuid,
    String,
    String,
    bool,
    chrono::DateTime<chrono::Utc>,
    Option<Uuid>,
    Option<String>,
    Option<Uuid>,
    Option<String>,
    Option<Uuid>,
    Option<Uuid>,
);

impl From<CallerTuple> for CallerRow {
    fn from(t: CallerTuple) -> Self {
        CallerRow {
            id: t.0,
            username: t.1,
            role: t.2,
            active: t.3,
            password_changed_at: t.4,
            organization_id: t.5,
            org_kind: t.6,
            unit_id: t.7,
            unit_kind: t.8,
            city_id: t.9,
            town_id: t.10,
        }
    }
}

#[derive(QueryableByName)]
struct CallerRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    username: String,
    #[diesel(sql_type = Text)]
    role: String,
    #[diesel(sql_type = Bool)]
    active: bool,
    #[diesel(sql_type = Timestamptz)]
    password_changed_at: chrono::DateTime<chrono::Utc>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    organization_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    org_kind: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    unit_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    unit_kind: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    city_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    town_id: Option<Uuid>,
}

impl Caller {
    /// 403 unless the caller has one of the roles.
    pub fn require(&self, roles: &[Role]) -> Result<()> {
        if self.is(roles) {
            Ok(())
        } else {
            Err(Error::Forbidden("your role may not do this"))
        }
    }

    /// The caller's city, or 422 naming `city_id` when a deployment admin must say which.
    pub fn city_or(&self, given: Option<Uuid>) -> Result<Uuid> {
        match (self.city_id, given) {
            (Some(mine), Some(g)) if g != mine => Err(Error::NotFound),
            (Some(mine), _) => Ok(mine),
            (None, Some(g)) => Ok(g),
            (None, None) => Err(Error::field("city_id", "required for a deployment admin")),
        }
    }

    /// Loads the user behind a verified token; 401 when gone, disabled, or the password changed since.
    pub async fn load(
        conn: &mut diesel_async::AsyncPgConnection,
        user_id: Uuid,
        issued_at: u64,
    ) -> Result<Caller> {
        use crate::db::schema::{org_units, organizations, users};
        use diesel::{ExpressionMethods, NullableExpressionMethods, OptionalExtension, QueryDsl};
        // a DSL query (not sql_query) so that the connection's statement cache keeps it prepared;
        // its text, the same for every caller, written once (every request loads its caller)
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let query = users::table
            .left_join(organizations::table.left_join(org_units::table))
            .filter(users::id.eq(user_id))
            .select((
                users::id,
                users::username,
                users::role,
                users::active,
                users::password_changed_at,
                users::organization_id,
                organizations::kind.nullable(),
                organizations::org_unit_id.nullable(),
                org_units::kind.nullable(),
                users::city_id,
                org_units::town_id.nullable(),
            ))
            .limit(1);
        let row: Option<CallerRow> = SqlOnce::new(query, &SQL)
            .get_result::<CallerTuple>(conn)
            .await
            .optional()?
            .map(CallerRow::from);
        let row = row.ok_or(Error::Unauthorized("unknown user"))?;
        if !row.active {
            return Err(Error::Unauthorized("user disabled"));
        }
        if (issued_at as i64) < row.password_changed_at.timestamp() {
            return Err(Error::Unauthorized(
                "token issued before the password changed",
            ));
        }
        let role = Role::parse(&row.role).ok_or_else(|| Error::internal("bad role"))?;
        let org_kind = row.org_kind.as_deref().and_then(OrgKind::parse);
        let unit_kind = row.unit_kind.as_deref().and_then(UnitKind::parse);
        let scope = match (unit_kind, row.unit_id) {
            (None, _) | (_, None) => Scope::All,
            (Some(UnitKind::City), Some(u)) => Scope::City(u),
            (Some(UnitKind::Town), Some(u)) => Scope::Town(u),
            (Some(UnitKind::Village), Some(u)) => Scope::Village(u),
        };
        if row.organization_id.is_none() && role != Role::Admin {
            return Err(Error::Unauthorized("user without organisation"));
        }
        // a helper signs in through its helper record, while the record is active
        let helper_id = if role == Role::Helper {
            use crate::db::schema::helpers;
            let id: Option<Uuid> = helpers::table
                .filter(helpers::user_id.eq(row.id))
                .filter(helpers::active.eq(true))
                .select(helpers::id)
                .first(conn)
                .await
                .optional()?;
            Some(id.ok_or(Error::Unauthorized("helper record gone or inactive"))?)
        } else {
            None
        };
        Ok(Caller {
            user_id: row.id,
            username: row.username,
            role,
            organization_id: row.organization_id,
            org_kind,
            unit_id: row.unit_id,
            unit_kind,
            city_id: row.city_id,
            town_id: row.town_id,
            scope,
            helper_id,
        })
    }
}
