#include "core/routing.hpp"

#include <charconv>

#include "core/crypto.hpp"
#include "core/limits.hpp"

namespace pay::core {

namespace {

bool is_currency(std::string_view c) {
  if (c.size() != 3) return false;
  for (char ch : c)
    if (ch < 'a' || ch > 'z') return false;
  return true;
}

bool is_method_type(std::string_view t) {
  if (t.empty() || t.size() > limits::routing_payment_method_length_max) return false;
  for (char ch : t)
    if (!((ch >= 'a' && ch <= 'z') || ch == '_')) return false;
  return true;
}

status validate_list(std::vector<routing_target>& list, const std::string& field,
                     const psp_name_resolver& resolve, bool may_be_empty) {
  if (list.empty() && !may_be_empty)
    return make_error(errc::invalid_request, "A rule must name at least one PSP.", field);
  if (list.size() > limits::routing_psps_per_list_max)
    return make_error(errc::invalid_request,
                      "A PSP list may name at most " +
                          std::to_string(limits::routing_psps_per_list_max) + " PSPs.",
                      field);
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto& t = list[i];
    auto at = field + "[" + std::to_string(i) + "]";
    auto name = t.psp.size() <= limits::psp_name_length_max ? resolve(t.psp) : std::nullopt;
    if (!name)
      return make_error(errc::invalid_request,
                        "No PSP named '" + t.psp.substr(0, limits::psp_name_length_max) +
                            "' is configured on this engine.",
                        at + ".psp");
    t.psp = *name;
    if (t.weight < 1 || t.weight > limits::routing_weight_max)
      return make_error(
          errc::invalid_request,
          "A weight must be between 1 and " + std::to_string(limits::routing_weight_max) + ".",
          at + ".weight");
    for (std::size_t j = 0; j < i; ++j)
      if (list[j].psp == t.psp)
        return make_error(errc::invalid_request,
                          "The PSP '" + t.psp + "' appears twice in one list.", at + ".psp");
  }
  return status::ok();
}

/// 64 bits of sha256(seed, step): the draw of one position.
std::uint64_t draw(std::string_view intent_id, std::size_t step) {
  auto hex = sha256_hex(std::string(intent_id) + "\n" + std::to_string(step));
  std::uint64_t v = 0;
  std::from_chars(hex.data(), hex.data() + 16, v, 16);
  return v;
}

}  // namespace

status validate_routing(routing_rules& rules, const psp_name_resolver& resolve) {
  if (rules.rules.size() > limits::routing_rules_max)
    return make_error(
        errc::invalid_request,
        "At most " + std::to_string(limits::routing_rules_max) + " rules are allowed.", "rules");
  for (std::size_t i = 0; i < rules.rules.size(); ++i) {
    auto& r = rules.rules[i];
    auto at = "rules[" + std::to_string(i) + "]";
    if (r.currency && !is_currency(*r.currency))
      return make_error(errc::invalid_request,
                        "A currency is three lowercase letters (ISO 4217), e.g. \"eur\".",
                        at + ".currency");
    if (r.amount_min && *r.amount_min < 0)
      return make_error(errc::invalid_request, "amount_min must not be negative.",
                        at + ".amount_min");
    if (r.amount_max && *r.amount_max < 0)
      return make_error(errc::invalid_request, "amount_max must not be negative.",
                        at + ".amount_max");
    if (r.amount_min && r.amount_max && *r.amount_min > *r.amount_max)
      return make_error(errc::invalid_request, "amount_min must not exceed amount_max.",
                        at + ".amount_min");
    if (r.payment_method_type && !is_method_type(*r.payment_method_type))
      return make_error(errc::invalid_request,
                        "A payment method type is 1 to " +
                            std::to_string(limits::routing_payment_method_length_max) +
                            " lowercase letters and underscores, e.g. \"card\".",
                        at + ".payment_method_type");
    if (auto s = validate_list(r.psps, at + ".psps", resolve, false); !s) return s;
  }
  return validate_list(rules.default_psps, "default_psps", resolve, true);
}

std::optional<std::size_t> match_rule(const routing_rules& rules, const routing_payment& p) {
  for (std::size_t i = 0; i < rules.rules.size(); ++i) {
    const auto& r = rules.rules[i];
    if (r.currency && *r.currency != p.currency) continue;
    if (r.amount_min && p.amount < *r.amount_min) continue;
    if (r.amount_max && p.amount > *r.amount_max) continue;
    if (r.payment_method_type && *r.payment_method_type != p.payment_method_type) continue;
    return i;
  }
  return std::nullopt;
}

std::vector<std::string> order_targets(const std::vector<routing_target>& targets,
                                       std::string_view intent_id) {
  std::vector<routing_target> left = targets;
  std::vector<std::string> out;
  out.reserve(left.size());
  for (std::size_t step = 0; !left.empty(); ++step) {
    std::int64_t total = 0;
    for (const auto& t : left) total += t.weight;
    std::size_t pick = 0;
    bool weighted = false;
    for (const auto& t : left) weighted = weighted || t.weight != left.front().weight;
    if (weighted && total > 0) {
      auto ticket =
          static_cast<std::int64_t>(draw(intent_id, step) % static_cast<std::uint64_t>(total));
      for (; pick + 1 < left.size() && ticket >= left[pick].weight; ++pick)
        ticket -= left[pick].weight;
    }
    out.push_back(left[pick].psp);
    left.erase(left.begin() + static_cast<std::ptrdiff_t>(pick));
  }
  return out;
}

routing_choice choose_psps(const routing_rules& rules, const routing_payment& p,
                           std::string_view intent_id, const std::string& fallback_psp) {
  if (auto i = match_rule(rules, p))
    return {order_targets(rules.rules[*i].psps, intent_id), "rule " + std::to_string(*i)};
  if (!rules.default_psps.empty())
    return {order_targets(rules.default_psps, intent_id), "default list"};
  return {{fallback_psp}, "merchant default"};
}

std::string_view to_string(failover_reason r) {
  switch (r) {
    case failover_reason::none:
      return "none";
    case failover_reason::breaker_open:
      return "breaker open";
    case failover_reason::busy:
      return "busy";
    case failover_reason::unreachable:
      return "unreachable";
    case failover_reason::timeout:
      return "timeout";
    case failover_reason::server_error:
      return "server error";
  }
  return "none";
}

failover_reason failover_reason_of(const psp_failure& f) {
  if (f.kind != psp_failure_kind::retryable) return failover_reason::none;
  // The gateway's own refusals (actors/gateway_actor.cpp): nothing was sent.
  if (f.http_status == 0 && f.code == "circuit_open") return failover_reason::breaker_open;
  if (f.http_status == 0 && f.code == "psp_busy") return failover_reason::busy;
  if (f.http_status == 0)
    return f.message.find("timed out") != std::string::npos ? failover_reason::timeout
                                                            : failover_reason::unreachable;
  if (f.http_status >= 500) return failover_reason::server_error;
  return failover_reason::none;
}

bool may_have_created(failover_reason r) {
  switch (r) {
    case failover_reason::none:
    case failover_reason::breaker_open:
    case failover_reason::busy:
      return false;
    // A connection that broke may have carried the request; a 5xx may come
    // from a proxy in front of a PSP that acted.
    case failover_reason::unreachable:
    case failover_reason::timeout:
    case failover_reason::server_error:
      return true;
  }
  return true;
}

std::string targets_text(const std::vector<routing_target>& targets) {
  std::string out;
  for (const auto& t : targets) {
    if (!out.empty()) out += ',';
    out += t.psp + ':' + std::to_string(t.weight);
  }
  return out;
}

result<std::vector<routing_target>> parse_targets_text(std::string_view text) {
  std::vector<routing_target> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    auto colon = item.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return make_error(errc::internal, "A stored PSP list is malformed.");
    routing_target t;
    t.psp = std::string(item.substr(0, colon));
    auto w = item.substr(colon + 1);
    auto [p, ec] = std::from_chars(w.data(), w.data() + w.size(), t.weight);
    if (ec != std::errc{} || p != w.data() + w.size())
      return make_error(errc::internal, "A stored PSP list is malformed.");
    out.push_back(std::move(t));
  }
  return out;
}

std::string attempt_psp_key(const std::string& psp_key, std::int32_t attempt) {
  if (attempt == 0) return psp_key;
  return psp_key + "-r" + std::to_string(attempt);
}

}  // namespace pay::core
