#include "net/dispute_codec.hpp"

namespace pay::net {

void write_dispute(json_writer& w, const core::dispute& d) {
  w.begin_object();
  w.field("id", d.id);
  w.field("object", "dispute");
  w.field("payment_intent", d.intent_id);
  w.field("amount", d.amount);
  w.field("currency", d.currency);
  w.field("reason", d.reason);
  w.field("status", core::to_string(d.status));
  w.field_optional("evidence_due_by", d.evidence_due_by);
  w.field("fee", d.fee);
  w.field("funds_withdrawn", d.funds_withdrawn);
  w.field("funds_reinstated", d.funds_reinstated);
  w.key("evidence");
  // Stored as a JSON object of strings by the engine itself.
  w.raw(d.evidence_json.empty() ? "{}" : d.evidence_json);
  w.field("psp", d.psp);
  w.field("psp_dispute_id", d.psp_dispute_id);
  w.field("created", d.created);
  w.field("version", d.version);
  w.end_object();
}

std::string dispute_json(const core::dispute& d) {
  json_writer w;
  write_dispute(w, d);
  return w.take();
}

}  // namespace pay::net
