#pragma once

#include <string>
#include <string_view>
#include <vector>

/// Maps (method, path) to a handler. Patterns are literal segments and
/// `{name}` placeholders: "/v1/payment_intents/{id}/capture". A path that
/// matches with another method yields the Allow list (405, not 404).
namespace pay::net {

template <class Handler>
class router {
 public:
  struct match {
    const Handler* handler = nullptr;  ///< null: no route for this method
    std::vector<std::string> params;   ///< placeholder values, in order
    std::string allow;                 ///< methods of the path, when handler is null
    std::string_view pattern;          ///< the matched route's pattern (metrics, logs)
  };

  void add(std::string method, std::string_view pattern, Handler handler) {
    routes_.push_back(
        route{std::move(method), split(pattern), std::move(handler), std::string(pattern)});
  }

  /// One registered route: its method and pattern, in registration order.
  struct entry {
    std::string_view method;
    std::string_view pattern;
  };

  /// Every route, for listing (the OpenAPI test compares them with the
  /// document); views into the router, valid while it lives unchanged.
  std::vector<entry> entries() const {
    std::vector<entry> out;
    out.reserve(routes_.size());
    for (const auto& r : routes_) out.push_back(entry{r.method, r.pattern});
    return out;
  }

  match find(std::string_view method, std::string_view path) const {
    match out;
    auto segments = split(path);
    for (const auto& r : routes_) {
      std::vector<std::string> params;
      if (!matches(r.segments, segments, params)) continue;
      if (r.method == method) {
        out.handler = &r.handler;
        out.params = std::move(params);
        out.allow.clear();
        out.pattern = r.pattern;
        return out;
      }
      if (out.allow.find(r.method) == std::string::npos) {
        if (!out.allow.empty()) out.allow += ", ";
        out.allow += r.method;
      }
    }
    return out;
  }

 private:
  struct route {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
    std::string pattern;
  };

  static std::vector<std::string> split(std::string_view path) {
    std::vector<std::string> out;
    while (!path.empty()) {
      if (path.front() == '/') {
        path.remove_prefix(1);
        continue;
      }
      auto slash = path.find('/');
      out.emplace_back(path.substr(0, slash));
      path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
    }
    return out;
  }

  static bool matches(const std::vector<std::string>& pattern,
                      const std::vector<std::string>& segments, std::vector<std::string>& params) {
    if (pattern.size() != segments.size()) return false;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      const auto& p = pattern[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        if (segments[i].empty()) return false;
        params.push_back(segments[i]);
      } else if (p != segments[i]) {
        return false;
      }
    }
    return true;
  }

  std::vector<route> routes_;
};

}  // namespace pay::net
