#pragma once

#include <string_view>

/// The Adyen mode's browser side, served by the sandbox itself: a stand-in
/// for Adyen Web v5 (`window.AdyenCheckout`) and the card component's iframe
/// with its 3-D Secure 2 challenge. Card data typed there goes only to the
/// sandbox, never to the embedding page.
namespace pay::sandbox::adyen {

/// GET /adyen/sdk/adyen.js
std::string_view sdk_js();
/// GET /adyen/sdk/card.html#sessionId=..&sessionData=..&clientKey=..&parentOrigin=..
std::string_view card_html();
/// GET /adyen/sdk/card.js (the iframe's script; the page's CSP allows only 'self')
std::string_view card_js();

}  // namespace pay::sandbox::adyen
