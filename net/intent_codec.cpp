#include "net/intent_codec.hpp"

namespace pay::net {

void write_intent(json_writer& w, const core::payment_intent& pi) {
  w.begin_object();
  w.field("id", pi.id);
  w.field("object", "payment_intent");
  w.field("status", core::to_string(pi.status));
  w.field("amount", pi.amount);
  w.field("currency", pi.currency);
  w.field("capture_method", core::to_string(pi.capture));
  w.field("merchant_initiated", pi.merchant_initiated);
  w.field("amount_capturable", pi.amount_capturable);
  w.field("amount_received", pi.amount_received);
  w.field("amount_refunded", pi.amount_refunded);
  w.field_optional("client_secret", pi.client_secret);
  w.field_optional("description", pi.description);
  w.field("psp", pi.psp);
  w.field_optional("psp_reference", pi.psp_reference);
  w.key("last_payment_error");
  if (pi.last_payment_error_json)
    w.raw(*pi.last_payment_error_json);
  else
    w.null();
  w.key("metadata");
  w.raw(pi.metadata_json);
  w.field("version", pi.version);
  w.field("created", pi.created);
  w.key("expires_at");
  if (pi.expires_at)
    w.value(*pi.expires_at);
  else
    w.null();
  w.end_object();
}

std::string intent_json(const core::payment_intent& pi) {
  json_writer w;
  write_intent(w, pi);
  return w.take();
}

}  // namespace pay::net
