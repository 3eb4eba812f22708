#pragma once

#include <string_view>

/// The sandbox's own hosted pages, served by the sandbox itself (no CDN, no
/// network): the card iframe a checkout page embeds, its script, and the
/// 3-D Secure challenge page. Card numbers typed there go only to the
/// sandbox.
namespace pay::sandbox {

/// GET /js/iframe.html?client_secret=...&publishable_key=...
std::string_view card_iframe_html();

/// GET /js/iframe.js: confirms the intent with the publishable key and the
/// client secret, as Stripe.js does, then follows a 3-D Secure redirect.
std::string_view card_iframe_js();

/// GET /3ds/{payment_intent}?client_secret=...[&return_url=...]
std::string_view three_ds_html();

}  // namespace pay::sandbox
