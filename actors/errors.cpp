#include "actors/errors.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

#include "actors/messages.hpp"

namespace pay::actors {

caf::error to_caf_error(const core::error& e) {
  return caf::error(static_cast<std::uint8_t>(e.code), error_category,
                    caf::make_message(e.message, e.param));
}

core::error from_caf_error(const caf::error& e) {
  if (e.category() == error_category) {
    core::error out;
    out.code = static_cast<core::errc>(e.code());
    const auto& ctx = e.context();
    if (ctx.match_elements<std::string, std::string>()) {
      out.message = ctx.get_as<std::string>(0);
      out.param = ctx.get_as<std::string>(1);
    }
    return out;
  }
  if (e == caf::sec::request_timeout)
    return core::make_error(core::errc::storage_unavailable,
                            "The engine did not answer in time; retry the request.");
  return core::make_error(core::errc::internal, "An internal error occurred.");
}

std::string render_caf_error(std::uint8_t code, const caf::message& context) {
  std::string out{core::to_string(static_cast<core::errc>(code))};
  if (context.match_elements<std::string, std::string>())
    out += ": " + context.get_as<std::string>(0);
  return out;
}

}  // namespace pay::actors
