#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/authorization_expiry.hpp"
#include "core/psp.hpp"

/// A PSP as a plug-in: everything the engine needs of one PSP, behind one
/// PSP-neutral interface, and the registry that finds a PSP by name. Each
/// PSP's bundle lives in its own folder (psp/<name>/); apps/paymentsd builds
/// the registry from configuration, and the rest of the engine only ever
/// asks the registry.
namespace pay::core {

/// Looks a request header up by name (case-insensitive); nullopt when absent.
using header_lookup = std::function<std::optional<std::string_view>(std::string_view name)>;

/// The outcome of checking a webhook's signature.
struct webhook_verdict {
  bool ok = false;
  /// Why not, as a short stable word (a metric label), e.g. "no_matching_signature".
  std::string reason;
};

/// An HTTP answer a PSP expects from the engine's webhook receiver.
struct webhook_answer {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

/// One PSP's webhooks: how to check them, read them and answer them.
class psp_webhooks {
 public:
  virtual ~psp_webhooks() = default;

  /// False when the engine holds no key to verify with: every webhook is
  /// then refused (503), since an unverified one must never be stored.
  virtual bool configured() const = 0;

  /// Checks the signature of a raw body before anything of it is stored,
  /// comparing in constant time; `now_s` is unix seconds.
  virtual webhook_verdict verify(const header_lookup& headers, std::string_view body,
                                 std::int64_t now_s) const = 0;

  /// The request header that carries the signature, kept with each stored
  /// event for the audit.
  virtual std::string_view signature_header() const = 0;

  /// Every event a verified body holds, each with its own `payload` (what
  /// the inbox stores and the webhook worker parses again, one event each).
  /// Empty when the body holds none the engine can read.
  virtual std::vector<psp_event> parse(std::string_view body) const = 0;

  /// What the PSP expects once every event of a body is durably stored;
  /// `duplicates` of `events` were stored before.
  virtual webhook_answer accepted(std::size_t events, std::size_t duplicates) const = 0;
};

/// What the hosted checkout page needs to mount the PSP's card form.
struct checkout_frontend {
  /// Which front end to mount: the page loads /checkout/psp/<kind>.js, the
  /// provider's `mount_script`, which registers a mount under this kind.
  std::string kind;
  /// The provider's glue for the page (psp/<name>/web/checkout.js): it
  /// registers a mount function with `window.payCheckout.register(kind, fn)`
  /// (see net/web/checkout/pay.js for what the function is given).
  std::string_view mount_script;
  std::string script_url;  ///< a script the page loads; empty: none
  std::string iframe_url;  ///< a card form the page frames; empty: none
  std::string origin;      ///< the card form's origin, whose messages the page trusts
  std::string publishable_key;
  /// The PSP's name of the front end's environment (e.g. "test" or
  /// "live"); empty when the PSP has none.
  std::string environment;
  /// Origins the page's Content-Security-Policy must allow, by directive.
  std::vector<std::string> script_src;
  std::vector<std::string> connect_src;
  std::vector<std::string> frame_src;
};

/// One configured PSP account.
struct psp_provider {
  /// The account's name: an intent's `psp`, the scope of its ledger
  /// accounts, the {psp} of its webhook URL.
  std::string name;
  std::string kind;  ///< which provider implements it, e.g. "stripe"
  std::shared_ptr<psp_connector> connector;
  std::shared_ptr<const psp_webhooks> webhooks;
  checkout_frontend checkout;
  /// The PSP captures an automatic-capture payment as it authorises it and
  /// reports the authorisation only: for such an intent the engine reads an
  /// authorisation as "authorised, then captured".
  bool authorisation_captures = false;
  /// How long the PSP keeps an uncaptured authorisation (its documented
  /// rule); nullopt: the engine assumes default_authorization_window().
  std::optional<authorization_window> auth_window;
};

/// The configured PSP accounts by name. Built once at start-up, read-only
/// afterwards, so it is shared between threads without locks.
class psp_registry {
 public:
  /// Adds `provider` under its name and `aliases` (other names its webhooks
  /// may arrive under); false, adding nothing, when a name is taken or empty.
  bool add(psp_provider provider, const std::vector<std::string>& aliases = {});

  /// The account named `name` (or aliased so); nullptr when none.
  const psp_provider* find(std::string_view name) const;

  /// The accounts' own names, in the order they were added.
  std::vector<std::string> names() const;

  /// The account new intents go to unless told otherwise: the first added.
  const psp_provider* default_provider() const;

 private:
  std::vector<std::shared_ptr<const psp_provider>> providers_;
  std::vector<std::pair<std::string, std::shared_ptr<const psp_provider>>> by_name_;
};

}  // namespace pay::core
