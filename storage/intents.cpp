#include "storage/intents.hpp"

#include <string_view>

namespace pay::storage {

namespace {

constexpr std::string_view intent_columns =
    "id, merchant_id, status, amount, currency, capture_method, amount_capturable, "
    "amount_received, amount_refunded, description, metadata::text, psp, psp_reference, "
    "client_secret, last_payment_error::text, version, "
    "extract(epoch FROM created_at)::bigint";

core::payment_intent read_intent(const pg_rows& rows, int row) {
  core::payment_intent pi;
  pi.id = rows.text(row, 0);
  pi.merchant_id = rows.text(row, 1);
  // The CHECK constraints guarantee a known status and capture method.
  pi.status = core::parse_intent_status(rows.text(row, 2)).value_or(core::intent_status::created);
  pi.amount = rows.int64(row, 3);
  pi.currency = rows.text(row, 4);
  pi.capture =
      core::parse_capture_method(rows.text(row, 5)).value_or(core::capture_method::automatic);
  pi.amount_capturable = rows.int64(row, 6);
  pi.amount_received = rows.int64(row, 7);
  pi.amount_refunded = rows.int64(row, 8);
  pi.description = rows.optional_text(row, 9);
  pi.metadata_json = rows.text(row, 10);
  pi.psp = rows.text(row, 11);
  pi.psp_reference = rows.optional_text(row, 12);
  pi.client_secret = rows.optional_text(row, 13);
  pi.last_payment_error_json = rows.optional_text(row, 14);
  pi.version = rows.int64(row, 15);
  pi.created = rows.int64(row, 16);
  return pi;
}

core::error intent_not_found(const std::string& id, std::string param = {}) {
  return core::make_error(core::errc::not_found, "No such payment_intent: '" + id + "'",
                          std::move(param));
}

}  // namespace

core::result<intent_page> list_intents(pg_connection& conn, const std::string& merchant_id,
                                       std::size_t limit,
                                       const std::optional<std::string>& starting_after) {
  std::string sql =
      "SELECT " + std::string(intent_columns) + " FROM payment_intents WHERE merchant_id = $1";
  std::vector<pg_param> params{merchant_id, std::to_string(limit + 1)};
  if (starting_after) {
    auto anchor = conn.exec("SELECT 1 FROM payment_intents WHERE id = $1 AND merchant_id = $2",
                            {*starting_after, merchant_id});
    if (!anchor.ok()) return to_core_error(*anchor.error);
    if (anchor.rows.empty()) return intent_not_found(*starting_after, "starting_after");
    sql += " AND (created_at, id) < (SELECT created_at, id FROM payment_intents WHERE id = $3)";
    params.push_back(*starting_after);
  }
  sql += " ORDER BY created_at DESC, id DESC LIMIT $2";
  auto r = conn.exec(sql, params);
  if (!r.ok()) return to_core_error(*r.error);
  intent_page page;
  int n = r.rows.size();
  page.has_more = static_cast<std::size_t>(n) > limit;
  for (int row = 0; row < n && static_cast<std::size_t>(row) < limit; ++row)
    page.data.push_back(read_intent(r.rows, row));
  return page;
}

core::result<core::payment_intent> find_intent(pg_connection& conn, const std::string& merchant_id,
                                               const std::string& id) {
  auto r = conn.exec("SELECT " + std::string(intent_columns) +
                         " FROM payment_intents WHERE id = $1 AND merchant_id = $2",
                     {id, merchant_id});
  if (!r.ok()) return to_core_error(*r.error);
  if (r.rows.empty()) return intent_not_found(id);
  return read_intent(r.rows, 0);
}

}  // namespace pay::storage
