#include "store/store.h"

namespace kexin::store {

Result<std::unique_ptr<Store>> OpenSqlite(const std::string& path);
Result<std::unique_ptr<Store>> OpenPostgres(const std::string& conninfo);

Result<std::unique_ptr<Store>> Store::Open(const std::string& url) {
  if (url.rfind("sqlite:", 0) == 0) return OpenSqlite(url.substr(7));
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0)
    return OpenPostgres(url);
  return InvalidArgument("store url '" + url + "': expected sqlite:/path or postgresql://...");
}

Result<int> Store::SchemaVersion() {
  KEXIN_RETURN_IF_ERROR(
      Exec("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)"));
  KEXIN_ASSIGN_OR_RETURN(auto rows, Query("SELECT MAX(version) FROM schema_version"));
  if (rows.empty() || std::holds_alternative<std::monostate>(rows[0][0])) return 0;
  return static_cast<int>(AsInt(rows[0][0]));
}

Status Store::Migrate(const std::vector<Migration>& migrations) {
  KEXIN_ASSIGN_OR_RETURN(int current, SchemaVersion());
  for (const auto& m : migrations) {
    if (m.version <= current) continue;
    KEXIN_RETURN_IF_ERROR(Begin());
    std::string_view sql = m.sql;
    Status s;
    while (!sql.empty() && s.ok()) {
      size_t semi = sql.find(';');
      std::string_view stmt = sql.substr(0, semi);
      sql = semi == std::string_view::npos ? std::string_view() : sql.substr(semi + 1);
      if (stmt.find_first_not_of(" \t\r\n") == std::string_view::npos) continue;
      s = Exec(stmt);
    }
    if (s.ok()) s = Exec("INSERT INTO schema_version (version) VALUES ($1)", {int64_t{m.version}});
    if (!s.ok()) {
      Rollback().IgnoreError();
      return s.WithContext("migration " + std::to_string(m.version));
    }
    KEXIN_RETURN_IF_ERROR(Commit());
  }
  return Status::Ok();
}

const std::vector<Migration>& KexinMigrations() {
  static const std::vector<Migration> m = {
      {1,
       "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
       "CREATE TABLE ledger_entries (idx BIGINT PRIMARY KEY, leaf_hash TEXT NOT NULL, entry TEXT "
       "NOT NULL);"
       "CREATE TABLE ledger_checkpoints (size BIGINT PRIMARY KEY, root TEXT NOT NULL, note TEXT "
       "NOT NULL);"
       "CREATE TABLE registrations (id TEXT NOT NULL, version BIGINT NOT NULL, type TEXT NOT NULL,"
       " ledger_index BIGINT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (id, version))"},
      // Cross-border transfers and their per-year counters (src/outbound/counters.h,
      // docs/outbound.md#counters).
      {2,
       "CREATE TABLE outbound_transfers (id TEXT PRIMARY KEY, handler TEXT NOT NULL,"
       " year BIGINT NOT NULL, date TEXT NOT NULL, basis TEXT NOT NULL, route TEXT NOT NULL,"
       " destination TEXT NOT NULL, people BIGINT NOT NULL, sensitive_people BIGINT NOT NULL,"
       " recorded_at TEXT NOT NULL);"
       "CREATE INDEX outbound_transfers_by_year ON outbound_transfers (handler, year)"},
      // The node server: API users (token hashes only), trusted peers and the RFC 9421 nonces
      // seen within the signature window (src/server/users.h, node.h, auth.h; docs/api.md).
      {3,
       "CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL,"
       " token_hash TEXT NOT NULL UNIQUE, created TEXT NOT NULL);"
       "CREATE TABLE peers (name TEXT PRIMARY KEY, url TEXT NOT NULL,"
       " public_key TEXT NOT NULL UNIQUE, added TEXT NOT NULL);"
       "CREATE TABLE httpsig_nonces (key TEXT NOT NULL, nonce TEXT NOT NULL,"
       " created BIGINT NOT NULL, PRIMARY KEY (key, nonce));"
       "CREATE INDEX httpsig_nonces_by_created ON httpsig_nonces (created)"},
      // Offers and the catalog (src/catalog/offer.h, docs/catalog.md#storage).
      {4,
       "CREATE TABLE offers (id TEXT PRIMARY KEY, registration_id TEXT NOT NULL,"
       " policy TEXT NOT NULL, access_policy TEXT, manual_approval BIGINT NOT NULL,"
       " created TEXT NOT NULL, withdrawn BIGINT NOT NULL, withdrawn_at TEXT,"
       " fingerprint TEXT NOT NULL, ledger_index BIGINT NOT NULL);"
       "CREATE INDEX offers_by_registration ON offers (registration_id);"
       "CREATE TABLE catalog_generation (id BIGINT PRIMARY KEY, generation BIGINT NOT NULL);"
       "INSERT INTO catalog_generation (id, generation) VALUES (1, 0);"
       "CREATE TABLE catalog_changes (seq BIGINT PRIMARY KEY, registration_id TEXT NOT NULL);"
       // The catalog finds registration rows newer than its snapshot by ledger index.
       "CREATE INDEX registrations_by_ledger_index ON registrations (ledger_index);"
       "CREATE TABLE peer_catalogs (peer TEXT PRIMARY KEY, url TEXT NOT NULL,"
       " fetched_at TEXT NOT NULL, catalog TEXT NOT NULL);"
       "CREATE TABLE catalog_peer_regions (peer TEXT PRIMARY KEY, region TEXT NOT NULL)"},
      // Contract negotiation (src/contract/negotiation_store.h, docs/contract.md#persistence).
      {5,
       "CREATE TABLE negotiations (id TEXT PRIMARY KEY, side TEXT NOT NULL, peer_pid TEXT NOT NULL,"
       " peer_name TEXT NOT NULL, peer_key TEXT NOT NULL, peer_url TEXT NOT NULL,"
       " state TEXT NOT NULL, pending_state TEXT NOT NULL, dataset TEXT NOT NULL,"
       " offer_id TEXT NOT NULL, offer TEXT NOT NULL, manual BIGINT NOT NULL,"
       " decision TEXT NOT NULL, agreement TEXT NOT NULL, agreement_hash TEXT NOT NULL,"
       " provider_signature TEXT NOT NULL, consumer_signature TEXT NOT NULL, reason TEXT NOT NULL,"
       " version BIGINT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL);"
       "CREATE UNIQUE INDEX negotiations_by_peer_pid ON negotiations (side, peer_key, peer_pid)"
       " WHERE peer_pid <> '';"
       "CREATE INDEX negotiations_by_state ON negotiations (state, created);"
       "CREATE TABLE negotiation_events (negotiation_id TEXT NOT NULL, seq BIGINT NOT NULL,"
       " time TEXT NOT NULL, type TEXT NOT NULL, state TEXT NOT NULL, body TEXT NOT NULL,"
       " ledger_index BIGINT, PRIMARY KEY (negotiation_id, seq));"
       "CREATE INDEX negotiation_events_unrecorded ON negotiation_events (ledger_index);"
       "CREATE TABLE negotiation_messages (negotiation_id TEXT NOT NULL, digest TEXT NOT NULL,"
       " status BIGINT NOT NULL, response TEXT NOT NULL, received TEXT NOT NULL,"
       " PRIMARY KEY (negotiation_id, digest));"
       "CREATE TABLE negotiation_outbox (id TEXT PRIMARY KEY, negotiation_id TEXT NOT NULL,"
       " kind TEXT NOT NULL, url TEXT NOT NULL, body TEXT NOT NULL, attempts BIGINT NOT NULL,"
       " next_attempt BIGINT NOT NULL, status TEXT NOT NULL, last_error TEXT NOT NULL,"
       " created TEXT NOT NULL);"
       "CREATE INDEX negotiation_outbox_due ON negotiation_outbox (status, next_attempt);"
       "CREATE INDEX negotiation_outbox_by_negotiation ON negotiation_outbox (negotiation_id)"},
      // The provider counts a peer's negotiations that are not final on every initial request
      // (the per-peer cap, docs/contract.md#limits).
      {6, "CREATE INDEX negotiations_by_peer_state ON negotiations (side, peer_key, state)"},
      // Nonces a SQLite node writes in batches (src/server/auth.cc): appended in time order, with
      // no unique index whose random keys would dirty a page per nonce; the server's memory
      // decides replays (docs/httpsig.md#nonces-and-replays).
      {7,
       "CREATE TABLE httpsig_nonce_log (created BIGINT NOT NULL, key TEXT NOT NULL,"
       " nonce TEXT NOT NULL);"
       "CREATE INDEX httpsig_nonce_log_by_created ON httpsig_nonce_log (created)"},
      // A negotiation's terms (offer and agreement JSON, about 2 KB) move out of its row, which
      // every state change rewrites: the slim rows of the negotiations in flight share pages, and
      // the terms are written when they change, mostly once (docs/contract.md#persistence).
      {8,
       "CREATE TABLE negotiation_terms (negotiation_id TEXT PRIMARY KEY, offer TEXT NOT NULL,"
       " agreement TEXT NOT NULL);"
       "INSERT INTO negotiation_terms (negotiation_id, offer, agreement)"
       " SELECT id, offer, agreement FROM negotiations;"
       "ALTER TABLE negotiations DROP COLUMN offer;"
       "ALTER TABLE negotiations DROP COLUMN agreement"},
  };
  return m;
}

}  // namespace kexin::store
