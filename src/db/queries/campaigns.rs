//! Campaigns and their balances.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::campaigns::{BalanceRow, CampaignRow};
use crate::db::schema::{campaign_balances, campaigns};

/// One campaign.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<CampaignRow> {
    campaigns::table
        .find(id)
        .select(CampaignRow::as_select())
        .first(conn)
        .await
}

/// A page of campaigns in id order (`limit` rows after `after`), of a city and a kind if given.
pub async fn page(
    conn: &mut AsyncPgConnection,
    city: Option<Uuid>,
    kind: Option<String>,
    limit: i64,
    after: Option<Uuid>,
) -> QueryResult<Vec<CampaignRow>> {
    let mut query = campaigns::table
        .select(CampaignRow::as_select())
        .order(campaigns::id)
        .limit(limit)
        .into_boxed();
    if let Some(c) = city {
        query = query.filter(campaigns::city_id.eq(c));
    }
    if let Some(k) = kind {
        query = query.filter(campaigns::kind.eq(k));
    }
    if let Some(after) = after {
        query = query.filter(campaigns::id.gt(after));
    }
    query.load(conn).await
}

/// Starts a campaign.
pub async fn insert(conn: &mut AsyncPgConnection, new: &CampaignRow) -> QueryResult<CampaignRow> {
    diesel::insert_into(campaigns::table)
        .values(new)
        .returning(CampaignRow::as_returning())
        .get_result(conn)
        .await
}

/// A campaign's balances, funds and materials, by kind, item and unit.
pub async fn balances(
    conn: &mut AsyncPgConnection,
    campaign: Uuid,
) -> QueryResult<Vec<BalanceRow>> {
    campaign_balances::table
        .filter(campaign_balances::campaign_id.eq(campaign))
        .order((
            campaign_balances::kind,
            campaign_balances::item,
            campaign_balances::unit,
        ))
        .select(BalanceRow::as_select())
        .load(conn)
        .await
}

/// The units a material of the campaign was received in.
pub async fn material_units(
    conn: &mut AsyncPgConnection,
    campaign: Uuid,
    item: &str,
) -> QueryResult<Vec<String>> {
    campaign_balances::table
        .filter(campaign_balances::campaign_id.eq(campaign))
        .filter(campaign_balances::kind.eq("materials"))
        .filter(campaign_balances::item.eq(item))
        .select(campaign_balances::unit)
        .load(conn)
        .await
}

/// Locks a campaign for ledger writes (serialises its movements); returns its city.
pub async fn lock(conn: &mut AsyncPgConnection, campaign: Uuid) -> QueryResult<Uuid> {
    campaigns::table
        .find(campaign)
        .select(campaigns::city_id)
        .for_update()
        .first(conn)
        .await
}

/// Makes sure the campaign has a balance row for this kind, item and unit.
pub async fn open_balance(
    conn: &mut AsyncPgConnection,
    campaign: Uuid,
    (kind, item, unit): (&str, &str, &str),
    city: Uuid,
) -> QueryResult<usize> {
    diesel::insert_into(campaign_balances::table)
        .values((
            campaign_balances::campaign_id.eq(campaign),
            campaign_balances::kind.eq(kind),
            campaign_balances::item.eq(item),
            campaign_balances::unit.eq(unit),
            campaign_balances::city_id.eq(city),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
}
