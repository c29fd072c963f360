// @generated-style: kept in step with migrations/ (see tests/schema.rs, which checks it).

diesel::table! {
    attachments (id) {
        id -> Uuid,
        city_id -> Uuid,
        need_id -> Nullable<Uuid>,
        person_id -> Nullable<Uuid>,
        filename -> Text,
        content_type -> Text,
        size -> Int8,
        sha256 -> Text,
        uploaded_by -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Uuid,
        at -> Timestamptz,
        city_id -> Nullable<Uuid>,
        actor_user_id -> Nullable<Uuid>,
        actor -> Text,
        action -> Text,
        person_id -> Nullable<Uuid>,
        fields -> Array<Text>,
    }
}

diesel::table! {
    case_number_counters (city_id, year) {
        city_id -> Uuid,
        year -> Int4,
        last_value -> Int4,
    }
}

diesel::table! {
    city_settings (city_id) {
        city_id -> Uuid,
        helper_capacity -> Int4,
        visit_interval_days -> Int4,
        time_zone -> Text,
    }
}

diesel::table! {
    console_sessions (id) {
        id -> Uuid,
        token_hash -> Bytea,
        user_id -> Uuid,
        csrf_token -> Text,
        created_at -> Timestamptz,
        idle_until -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    contact_group_members (person_id, helper_id) {
        person_id -> Uuid,
        helper_id -> Uuid,
        slot -> Int2,
        city_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    helpers (id) {
        id -> Uuid,
        city_id -> Uuid,
        town_id -> Uuid,
        village_id -> Uuid,
        name -> Text,
        phone -> Nullable<Text>,
        kind -> Text,
        volunteer_team_id -> Nullable<Uuid>,
        user_id -> Nullable<Uuid>,
        active -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    login_failures (addr, at, id) {
        addr -> Inet,
        at -> Timestamptz,
        id -> Int8,
    }
}

diesel::table! {
    login_throttle (username_key) {
        username_key -> Text,
        failures -> Int4,
        locked_until -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
        recent_failures -> Array<Timestamptz>,
    }
}

diesel::table! {
    org_units (id) {
        id -> Uuid,
        kind -> Text,
        name -> Text,
        code -> Text,
        parent_id -> Nullable<Uuid>,
        city_id -> Uuid,
        town_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    organizations (id) {
        id -> Uuid,
        kind -> Text,
        name -> Text,
        org_unit_id -> Uuid,
        city_id -> Uuid,
        department_type -> Nullable<Text>,
        site_type -> Nullable<Text>,
        parent_organization_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    persons (id) {
        id -> Uuid,
        city_id -> Uuid,
        town_id -> Uuid,
        village_id -> Uuid,
        name -> Text,
        id_number_enc -> Bytea,
        id_number_hash -> Bytea,
        id_number_masked -> Text,
        disability_category -> Text,
        disability_grade -> Int2,
        birth_date -> Date,
        gender -> Text,
        phone -> Nullable<Text>,
        address -> Nullable<Text>,
        guardian_name -> Nullable<Text>,
        guardian_phone -> Nullable<Text>,
        status -> Text,
        group_size -> Int2,
        last_visited_at -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        phone_hash -> Nullable<Bytea>,
        guardian_phone_hash -> Nullable<Bytea>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        family_id -> Uuid,
        user_id -> Uuid,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        username -> Text,
        display_name -> Text,
        role -> Text,
        organization_id -> Nullable<Uuid>,
        city_id -> Nullable<Uuid>,
        password_hash -> Text,
        active -> Bool,
        password_changed_at -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    visits (id) {
        id -> Uuid,
        person_id -> Uuid,
        helper_id -> Nullable<Uuid>,
        city_id -> Uuid,
        visited_at -> Timestamptz,
        notes -> Text,
        recorded_by -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    volunteer_teams (id) {
        id -> Uuid,
        name -> Text,
        org_unit_id -> Uuid,
        city_id -> Uuid,
        town_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    needs (id) {
        id -> Uuid,
        city_id -> Uuid,
        town_id -> Uuid,
        village_id -> Uuid,
        person_id -> Uuid,
        category -> Text,
        description -> Text,
        urgency -> Text,
        state -> Text,
        #[sql_name = "loop"]
        loop_ -> Nullable<Text>,
        level -> Text,
        handler_organization_id -> Uuid,
        assignee_user_id -> Nullable<Uuid>,
        assigned_site_id -> Nullable<Uuid>,
        assigned_team_id -> Nullable<Uuid>,
        referred_from_handler_id -> Nullable<Uuid>,
        referred_from_level -> Nullable<Text>,
        reporting_helper_id -> Nullable<Uuid>,
        filed_by -> Nullable<Uuid>,
        due_at -> Nullable<Timestamptz>,
        overdue -> Bool,
        ever_overdue -> Bool,
        reopen_count -> Int4,
        satisfaction -> Nullable<Int2>,
        outcome -> Nullable<Text>,
        resolution -> Nullable<Text>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        closed_at -> Nullable<Timestamptz>,
        case_number -> Text,
        entered_state_at -> Timestamptz,
    }
}

diesel::table! {
    need_access (organization_id, need_id) {
        organization_id -> Uuid,
        need_id -> Uuid,
    }
}

diesel::table! {
    need_events (need_id, seq) {
        need_id -> Uuid,
        seq -> Int4,
        city_id -> Uuid,
        action -> Text,
        from_state -> Nullable<Text>,
        to_state -> Text,
        level -> Text,
        handler_organization_id -> Uuid,
        actor_user_id -> Nullable<Uuid>,
        actor -> Text,
        at -> Timestamptz,
        payload -> Jsonb,
        prev_hash -> Nullable<Bytea>,
        hash -> Bytea,
    }
}

diesel::table! {
    sla_policies (city_id, state, loop_, level, urgency) {
        city_id -> Uuid,
        state -> Text,
        #[sql_name = "loop"]
        loop_ -> Text,
        level -> Text,
        urgency -> Text,
        hours -> Int4,
    }
}

diesel::table! {
    idempotency_keys (user_id, key) {
        user_id -> Uuid,
        key -> Text,
        request_hash -> Bytea,
        status -> Nullable<Int4>,
        response -> Nullable<Jsonb>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    duty_roster (id) {
        id -> Uuid,
        association_id -> Uuid,
        city_id -> Uuid,
        user_id -> Uuid,
        starts_on -> Date,
        ends_on -> Date,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    campaigns (id) {
        id -> Uuid,
        city_id -> Uuid,
        name -> Text,
        kind -> Text,
        description -> Text,
        starts_on -> Date,
        ends_on -> Date,
        target_categories -> Array<Text>,
        goal_fen -> Nullable<Int8>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    campaign_balances (campaign_id, kind, item, unit) {
        campaign_id -> Uuid,
        kind -> Text,
        item -> Text,
        unit -> Text,
        city_id -> Uuid,
        raised -> Int8,
        allocated -> Int8,
        balance -> Int8,
        value_fen -> Int8,
    }
}

diesel::table! {
    ledger_entries (id) {
        id -> Uuid,
        campaign_id -> Uuid,
        seq -> Int4,
        city_id -> Uuid,
        entry -> Text,
        kind -> Text,
        item -> Text,
        unit -> Text,
        amount -> Int8,
        value_fen -> Nullable<Int8>,
        donation_id -> Nullable<Uuid>,
        need_id -> Nullable<Uuid>,
        reverses_id -> Nullable<Uuid>,
        donor_name -> Nullable<Text>,
        channel -> Nullable<Text>,
        received_on -> Nullable<Date>,
        note -> Nullable<Text>,
        actor_user_id -> Nullable<Uuid>,
        at -> Timestamptz,
        prev_hash -> Nullable<Bytea>,
        hash -> Bytea,
    }
}

diesel::table! {
    service_records (id) {
        id -> Uuid,
        city_id -> Uuid,
        helper_id -> Uuid,
        need_id -> Uuid,
        team_id -> Nullable<Uuid>,
        served_on -> Date,
        half_hours -> Int4,
        note -> Text,
        recorded_by -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// Delta and merged rows of the needs report's summary: no key of its own (the merged rows
    /// are unique by city, village and day); declared by those columns for diesel.
    needs_daily (city_id, village_id, day, merged) {
        city_id -> Uuid,
        town_id -> Uuid,
        village_id -> Uuid,
        day -> Date,
        merged -> Bool,
        filed -> Int4,
        closed -> Int4,
        s_reported -> Int4,
        s_registered -> Int4,
        s_referred -> Int4,
        s_escalated -> Int4,
        s_in_progress -> Int4,
        s_resolved -> Int4,
        s_closed -> Int4,
        s_withdrawn -> Int4,
        l_policy -> Int4,
        l_social -> Int4,
        l_untriaged -> Int4,
        v_village -> Int4,
        v_town -> Int4,
        v_city -> Int4,
        c_rehabilitation -> Int4,
        c_assistive_device -> Int4,
        c_education -> Int4,
        c_employment -> Int4,
        c_allowance -> Int4,
        c_medical -> Int4,
        c_housing -> Int4,
        c_daily_care -> Int4,
        c_culture -> Int4,
        c_legal_aid -> Int4,
        c_other -> Int4,
    }
}

diesel::table! {
    /// The needs summary's merged counts per town and day (a whole city's needs report).
    needs_daily_town (city_id, town_id, day) {
        city_id -> Uuid,
        town_id -> Uuid,
        day -> Date,
        filed -> Int4,
        closed -> Int4,
        s_reported -> Int4,
        s_registered -> Int4,
        s_referred -> Int4,
        s_escalated -> Int4,
        s_in_progress -> Int4,
        s_resolved -> Int4,
        s_closed -> Int4,
        s_withdrawn -> Int4,
        l_policy -> Int4,
        l_social -> Int4,
        l_untriaged -> Int4,
        v_village -> Int4,
        v_town -> Int4,
        v_city -> Int4,
        c_rehabilitation -> Int4,
        c_assistive_device -> Int4,
        c_education -> Int4,
        c_employment -> Int4,
        c_allowance -> Int4,
        c_medical -> Int4,
        c_housing -> Int4,
        c_daily_care -> Int4,
        c_culture -> Int4,
        c_legal_aid -> Int4,
        c_other -> Int4,
    }
}

diesel::table! {
    sla_event_daily (city_id, village_id, day) {
        city_id -> Uuid,
        town_id -> Uuid,
        village_id -> Uuid,
        day -> Date,
        auto_escalations -> Int4,
        followups -> Int4,
        satisfied -> Int4,
        satisfaction_sum -> Float8,
        satisfaction_n -> Int4,
        returns -> Int4,
        reroutes -> Int4,
    }
}

diesel::table! {
    need_notices (need_id, version, kind) {
        need_id -> Uuid,
        version -> Int4,
        kind -> Text,
        at -> Timestamptz,
    }
}

diesel::table! {
    notifications (id) {
        id -> Uuid,
        user_id -> Uuid,
        city_id -> Uuid,
        need_id -> Nullable<Uuid>,
        kind -> Text,
        title -> Text,
        at -> Timestamptz,
        read_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Uuid,
        city_id -> Uuid,
        url -> Text,
        events -> Array<Text>,
        secret -> Text,
        active -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    visit_reminders (organization_id, on_day) {
        organization_id -> Uuid,
        on_day -> Date,
        persons -> Int4,
    }
}

diesel::table! {
    webhook_outbox (id) {
        id -> Int8,
        webhook_id -> Uuid,
        event_id -> Uuid,
        need_id -> Uuid,
        seq -> Int4,
        body -> Text,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        webhook_id -> Uuid,
        outbox_id -> Int8,
        event_id -> Uuid,
        attempt -> Int4,
        at -> Timestamptz,
        status -> Nullable<Int4>,
        error -> Nullable<Text>,
        outcome -> Text,
    }
}

diesel::joinable!(console_sessions -> users (user_id));
diesel::joinable!(notifications -> users (user_id));
diesel::joinable!(notifications -> needs (need_id));
diesel::joinable!(need_notices -> needs (need_id));
diesel::joinable!(visit_reminders -> organizations (organization_id));
diesel::joinable!(contact_group_members -> helpers (helper_id));
diesel::joinable!(contact_group_members -> persons (person_id));
diesel::joinable!(helpers -> volunteer_teams (volunteer_team_id));
diesel::joinable!(organizations -> org_units (org_unit_id));
diesel::joinable!(users -> organizations (organization_id));
diesel::joinable!(visits -> persons (person_id));
diesel::joinable!(needs -> persons (person_id));
diesel::joinable!(need_events -> needs (need_id));
diesel::joinable!(need_access -> needs (need_id));
diesel::joinable!(webhook_outbox -> webhooks (webhook_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhook_deliveries -> webhook_outbox (outbox_id));

diesel::allow_tables_to_appear_in_same_query!(
    attachments,
    audit_log,
    campaign_balances,
    campaigns,
    case_number_counters,
    city_settings,
    console_sessions,
    contact_group_members,
    duty_roster,
    helpers,
    idempotency_keys,
    ledger_entries,
    need_access,
    need_events,
    need_notices,
    needs_daily,
    needs_daily_town,
    needs,
    notifications,
    login_failures,
    login_throttle,
    org_units,
    organizations,
    persons,
    refresh_tokens,
    service_records,
    sla_event_daily,
    sla_policies,
    users,
    visit_reminders,
    visits,
    volunteer_teams,
    webhook_deliveries,
    webhook_outbox,
    webhooks,
);
