#pragma once

#include <rapidjson/document.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "core/psp_provider.hpp"

/// What the PSP connectors (psp/<name>/<name>_connector.cpp) share: the
/// once-only completion of an asynchronous call, the scrubbing of a secret
/// out of any text, a failure found before any call, and reading a string
/// member of a PSP's JSON.
namespace pay::psp {

/// Runs a connector callback exactly once: with the call's outcome, or, if
/// the call is dropped unanswered (the connector is destroyed while it is in
/// flight), with a retryable failure when the last reference goes away.
template <class T>
class completion {
 public:
  using done_fn = std::function<void(core::psp_outcome<T>)>;

  explicit completion(done_fn done) : done_(std::move(done)) {}
  completion(const completion&) = delete;
  completion& operator=(const completion&) = delete;

  ~completion() {
    if (fired_.exchange(true)) return;
    core::psp_failure f;
    f.kind = core::psp_failure_kind::retryable;
    f.message = "The PSP connector stopped before the PSP answered.";
    // A destructor must not throw; the caller's callback is not ours to trust.
    try {
      if (done_) done_(std::move(f));
    } catch (...) {
    }
  }

  void operator()(core::psp_outcome<T> outcome) {
    if (fired_.exchange(true)) return;
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(outcome));
  }

 private:
  done_fn done_;
  std::atomic<bool> fired_{false};
};

template <class T>
using completion_ptr = std::shared_ptr<completion<T>>;

/// `text` with every occurrence of `secret` replaced, so no message built
/// from a PSP's or a transport's text can leak a key.
inline std::string scrub(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos))
    text.replace(pos, secret.size(), "[redacted]");
  return text;
}

/// A request the connector refuses before calling the PSP (the PSP would
/// refuse it too): rejected, with the PSP's error `type` and the parameter.
inline core::psp_failure refused_before_call(std::string type, std::string message,
                                             std::string param = {}) {
  core::psp_failure f;
  f.kind = core::psp_failure_kind::rejected;
  f.type = std::move(type);
  f.message = std::move(message);
  f.param = std::move(param);
  return f;
}

/// The string member `name` of `obj`; empty when `obj` is not an object or
/// the member is absent or not a string.
inline std::string string_member(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) return {};
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsString()) return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

}  // namespace pay::psp
