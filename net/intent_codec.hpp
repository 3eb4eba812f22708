#pragma once

#include <string>

#include "core/payment_intent.hpp"
#include "net/json.hpp"

namespace pay::net {

/// Writes an intent in the API's shape (DESIGN.md): id, object, status,
/// amounts, currency, capture_method, client_secret, psp, psp_reference,
/// last_payment_error, metadata, description, version, created.
void write_intent(json_writer& w, const core::payment_intent& pi);

/// One intent as a JSON document.
std::string intent_json(const core::payment_intent& pi);

}  // namespace pay::net
