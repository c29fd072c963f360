DROP TABLE service_records, ledger_entries, campaign_balances, campaigns;
