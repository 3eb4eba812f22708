#pragma once

// The dispute's JSON, shared by the dispute routes and the intent's
// `disputes` list. No CAF.

#include <string>

#include "core/dispute.hpp"
#include "net/json.hpp"

namespace pay::net {

/// {"id":"dp_...","object":"dispute","payment_intent":...,"amount":...,
/// "currency":...,"reason":...,"status":...,"evidence_due_by":...,"fee":...,
/// "funds_withdrawn":...,"funds_reinstated":...,"evidence":{...},"psp":...,
/// "psp_dispute_id":...,"created":...,"version":...}.
void write_dispute(json_writer& w, const core::dispute& d);

/// The dispute as one JSON text.
std::string dispute_json(const core::dispute& d);

}  // namespace pay::net
