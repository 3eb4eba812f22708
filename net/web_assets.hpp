#pragma once

#include <span>
#include <string_view>

namespace pay::net {

/// One static file under net/web/, embedded at build time (net/embed_web.cmake).
struct web_asset {
  std::string_view path;  ///< relative to net/web/, with a leading '/': "/checkout/pay.js"
  std::string_view content_type;
  std::string_view body;
};

/// Every embedded file, sorted by path.
std::span<const web_asset> web_assets();

/// The embedded file at `path`, or nullptr.
inline const web_asset* find_web_asset(std::string_view path) {
  for (const auto& a : web_assets())
    if (a.path == path) return &a;
  return nullptr;
}

}  // namespace pay::net
