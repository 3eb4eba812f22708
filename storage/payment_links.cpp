#include "storage/payment_links.hpp"

#include <string_view>

namespace pay::storage {

namespace {

constexpr std::string_view link_columns =
    "id, merchant_id, amount, currency, description, capture_method, active, "
    "extract(epoch FROM created_at)::bigint, psp, routed";

payment_link read_link(const pg_rows& rows, int row) {
  payment_link l;
  l.id = rows.text(row, 0);
  l.merchant_id = rows.text(row, 1);
  l.amount = rows.int64(row, 2);
  l.currency = rows.text(row, 3);
  l.description = rows.optional_text(row, 4);
  // The CHECK constraint guarantees a known capture method.
  l.capture =
      core::parse_capture_method(rows.text(row, 5)).value_or(core::capture_method::automatic);
  l.active = rows.boolean(row, 6);
  l.created = rows.int64(row, 7);
  l.psp = rows.optional_text(row, 8);
  l.routed = rows.boolean(row, 9);
  return l;
}

core::error link_not_found(const std::string& id, std::string param = {}) {
  return core::make_error(core::errc::not_found, "No such payment_link: '" + id + "'",
                          std::move(param));
}

}  // namespace

core::result<payment_link> create_payment_link(pg_connection& conn, const payment_link& link) {
  auto r = conn.exec(
      "INSERT INTO payment_links (id, merchant_id, amount, currency, description, "
      "capture_method, psp, routed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
      "ON CONFLICT (id) DO NOTHING",
      {link.id, link.merchant_id, std::to_string(link.amount), link.currency, link.description,
       std::string(core::to_string(link.capture)), link.psp,
       std::string(link.routed ? "true" : "false")});
  if (!r.ok()) return to_core_error(*r.error);
  auto stored = find_payment_link(conn, link.id, std::nullopt);
  if (!stored) return stored.err();
  if (stored->merchant_id != link.merchant_id)
    return core::make_error(core::errc::invalid_request,
                            "A payment link with this id belongs to another merchant.");
  return stored;
}

core::result<payment_link> find_payment_link(pg_connection& conn, const std::string& id,
                                             const std::optional<std::string>& merchant_id) {
  auto r =
      conn.exec("SELECT " + std::string(link_columns) + " FROM payment_links WHERE id = $1", {id});
  if (!r.ok()) return to_core_error(*r.error);
  if (r.rows.empty()) return link_not_found(id);
  auto link = read_link(r.rows, 0);
  if (merchant_id && link.merchant_id != *merchant_id) return link_not_found(id);
  return link;
}

core::result<payment_link> set_payment_link_active(pg_connection& conn, const std::string& id,
                                                   const std::string& merchant_id, bool active) {
  auto r = conn.exec("UPDATE payment_links SET active = $3 WHERE id = $1 AND merchant_id = $2",
                     {id, merchant_id, std::string(active ? "true" : "false")});
  if (!r.ok()) return to_core_error(*r.error);
  if (r.rows.affected() == 0) return link_not_found(id);
  return find_payment_link(conn, id, merchant_id);
}

core::result<payment_link_page> list_payment_links(
    pg_connection& conn, const std::string& merchant_id, std::size_t limit,
    const std::optional<std::string>& starting_after) {
  std::string sql =
      "SELECT " + std::string(link_columns) + " FROM payment_links WHERE merchant_id = $1";
  std::vector<pg_param> params{merchant_id, std::to_string(limit + 1)};
  if (starting_after) {
    auto anchor = conn.exec("SELECT 1 FROM payment_links WHERE id = $1 AND merchant_id = $2",
                            {*starting_after, merchant_id});
    if (!anchor.ok()) return to_core_error(*anchor.error);
    if (anchor.rows.empty()) return link_not_found(*starting_after, "starting_after");
    sql += " AND (created_at, id) < (SELECT created_at, id FROM payment_links WHERE id = $3)";
    params.push_back(*starting_after);
  }
  sql += " ORDER BY created_at DESC, id DESC LIMIT $2";
  auto r = conn.exec(sql, params);
  if (!r.ok()) return to_core_error(*r.error);
  payment_link_page page;
  for (int i = 0; i < r.rows.size(); ++i) {
    if (page.data.size() == limit) {
      page.has_more = true;
      break;
    }
    page.data.push_back(read_link(r.rows, i));
  }
  return page;
}

core::result<std::optional<std::string>> find_link_visit(pg_connection& conn,
                                                         const std::string& link_id,
                                                         const std::string& visit_hash) {
  auto r =
      conn.exec("SELECT intent_id FROM payment_link_visits WHERE link_id = $1 AND visit_hash = $2",
                {link_id, visit_hash});
  if (!r.ok()) return to_core_error(*r.error);
  if (r.rows.empty()) return std::optional<std::string>{};
  return std::optional<std::string>{std::string(r.rows.text(0, 0))};
}

core::result<std::string> record_link_visit(pg_connection& conn, const std::string& link_id,
                                            const std::string& visit_hash,
                                            const std::string& intent_id) {
  auto r = conn.exec(
      "INSERT INTO payment_link_visits (link_id, visit_hash, intent_id) VALUES ($1, $2, $3) "
      "ON CONFLICT (link_id, visit_hash) DO NOTHING",
      {link_id, visit_hash, intent_id});
  if (!r.ok()) return to_core_error(*r.error);
  auto stored = find_link_visit(conn, link_id, visit_hash);
  if (!stored) return stored.err();
  if (!*stored) return core::make_error(core::errc::internal, "The visit was not recorded.");
  return **stored;
}

}  // namespace pay::storage
