#include "net/ledger_codec.hpp"

#include "net/json.hpp"

namespace pay::net {

namespace {

void write_entry(json_writer& w, const storage::stored_entry& e) {
  w.begin_object();
  w.field("id", e.id);
  w.field("object", "ledger_entry");
  w.field("transaction", e.transaction_id);
  w.field("kind", e.kind);
  w.field("account", e.account_id);
  w.field("account_key", e.account.to_string());
  w.field("debit", e.debit_minor);
  w.field("credit", e.credit_minor);
  w.field("currency", e.currency);
  w.field("created_us", e.created_us);
  w.end_object();
}

}  // namespace

std::string accounts_json(const actors::account_page& page) {
  json_writer w;
  w.begin_object();
  w.field("object", "list");
  w.field("url", "/v1/ledger/accounts");
  w.field("has_more", page.has_more);
  w.key("data");
  w.begin_array();
  for (const auto& [a, b] : page.data) {
    w.begin_object();
    w.field("id", a.id);
    w.field("object", "ledger_account");
    w.field("key", a.key.to_string());
    w.field("type", core::to_string(a.type));
    w.field("normal_side", core::to_string(a.normal));
    w.field("currency", a.currency);
    w.field_optional("merchant", a.merchant_id);
    w.field_optional("psp", a.psp);
    w.field("debits", b.debits_minor);
    w.field("credits", b.credits_minor);
    w.field("balance", b.balance_minor);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.take();
}

std::string entries_json(std::int64_t account_id, const actors::entry_page& page) {
  json_writer w;
  w.begin_object();
  w.field("object", "list");
  w.field("url", "/v1/ledger/accounts/" + std::to_string(account_id) + "/entries");
  w.field("has_more", page.has_more);
  w.key("data");
  w.begin_array();
  for (const auto& e : page.data) write_entry(w, e);
  w.end_array();
  w.end_object();
  return w.take();
}

std::string ledger_transactions_json(const actors::ledger_transactions& list) {
  json_writer w;
  w.begin_object();
  w.field("object", "list");
  w.field("url", "/v1/ledger/transactions");
  w.field("has_more", false);
  w.key("data");
  w.begin_array();
  for (const auto& t : list) {
    w.begin_object();
    w.field("id", t.id);
    w.field("object", "ledger_transaction");
    w.field("kind", t.kind);
    w.field("memo", t.memo);
    w.field_optional("payment_intent", t.intent_id);
    w.field_optional("refund", t.refund_id);
    w.field_optional("reverses", t.reverses);
    w.field_optional("reversed_by", t.reversed_by);
    w.field("created_us", t.created_us);
    w.key("entries");
    w.begin_array();
    for (const auto& e : t.entries) write_entry(w, e);
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.take();
}

std::string trial_balance_json(const actors::trial_balance_lines& lines) {
  json_writer w;
  w.begin_object();
  w.field("object", "trial_balance");
  bool all = true;
  w.key("currencies");
  w.begin_array();
  for (const auto& l : lines) {
    all = all && l.balanced;
    w.begin_object();
    w.field("currency", l.currency);
    w.field("debits", l.debits_minor);
    w.field("credits", l.credits_minor);
    w.field("memo_debits", l.memo_debits_minor);
    w.field("memo_credits", l.memo_credits_minor);
    w.field("balanced", l.balanced);
    w.end_object();
  }
  w.end_array();
  w.field("balanced", all);
  w.end_object();
  return w.take();
}

}  // namespace pay::net
