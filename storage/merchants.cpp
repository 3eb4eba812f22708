#include "storage/merchants.hpp"

#include "core/api_key.hpp"
#include "core/ids.hpp"

namespace pay::storage {

core::result<std::string> ensure_merchant(pg_connection& conn, const std::string& name) {
  // The no-op update makes RETURNING yield the existing row too.
  auto r = conn.exec(
      "INSERT INTO merchants (id, name) VALUES ($1, $2) "
      "ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
      {core::make_id(core::id_prefix::merchant), name});
  if (!r.ok()) return to_core_error(*r.error);
  return std::string(r.rows.text(0, 0));
}

core::status add_api_key(pg_connection& conn, const std::string& merchant_id,
                         const std::string& secret_key) {
  auto hash = core::hash_api_key(secret_key);
  auto display = secret_key.substr(0, std::min<std::size_t>(secret_key.size(), 12)) + "...";
  auto r = conn.exec(
      "INSERT INTO api_keys (id, merchant_id, key_hash, display) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT (key_hash) DO NOTHING",
      {core::make_id(core::id_prefix::api_key), merchant_id, hash, display});
  if (!r.ok()) return to_core_error(*r.error);
  auto owner = conn.exec("SELECT merchant_id FROM api_keys WHERE key_hash = $1", {hash});
  if (!owner.ok()) return to_core_error(*owner.error);
  if (owner.rows.empty() || owner.rows.text(0, 0) != merchant_id)
    return core::make_error(core::errc::invalid_request,
                            "This API key already belongs to another merchant.");
  return core::status::ok();
}

core::status set_default_psp(pg_connection& conn, const std::string& merchant_id,
                             const std::optional<std::string>& psp, const std::string& actor) {
  // One statement, so the change and its audit event commit together.
  auto r = conn.exec(
      "WITH old AS (SELECT default_psp FROM merchants WHERE id = $1 FOR UPDATE), "
      "upd AS (UPDATE merchants SET default_psp = $2 WHERE id = $1 "
      "        AND default_psp IS DISTINCT FROM $2 RETURNING id) "
      "INSERT INTO audit_events (merchant_id, actor, action, cause, data) "
      "SELECT $1, $3, 'merchant_default_psp', 'the merchant''s default PSP changed', "
      "       jsonb_build_object('from', (SELECT default_psp FROM old), 'to', $2::text) "
      "FROM upd",
      {merchant_id, psp, actor});
  if (!r.ok()) return to_core_error(*r.error);
  return core::status::ok();
}

core::result<std::optional<merchant>> find_merchant_by_key_hash(pg_connection& conn,
                                                                const std::string& key_hash) {
  auto r = conn.exec(
      "SELECT m.id, m.name, m.default_psp FROM api_keys k JOIN merchants m ON m.id = "
      "k.merchant_id WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
      {key_hash});
  if (!r.ok()) return to_core_error(*r.error);
  if (r.rows.empty()) return std::optional<merchant>{};
  return std::optional<merchant>{merchant{
      std::string(r.rows.text(0, 0)), std::string(r.rows.text(0, 1)), r.rows.optional_text(0, 2)}};
}

}  // namespace pay::storage
