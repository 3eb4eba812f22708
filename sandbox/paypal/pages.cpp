#include "sandbox/paypal/pages.hpp"

namespace pay::sandbox::paypal {

namespace {

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

constexpr const char* style = R"css(
body{font-family:system-ui,sans-serif;background:#f5f7fa;margin:0;color:#2c2e2f}
header{background:#003087;color:#fff;padding:14px 24px;font-weight:600;font-size:20px}
main{max-width:460px;margin:32px auto;background:#fff;border-radius:12px;padding:24px;
box-shadow:0 1px 4px rgba(0,0,0,.15)}
.amount{font-size:28px;font-weight:600;margin:8px 0 16px}
label{display:block;margin:16px 0 6px;font-weight:600}
select{width:100%;padding:8px;font-size:15px}
button{display:block;width:100%;margin-top:14px;padding:12px;font-size:16px;border-radius:24px;
border:0;cursor:pointer}
#approve{background:#0070ba;color:#fff}#cancel{background:#e9ecef;color:#2c2e2f}
.muted{color:#6c7378;font-size:13px}
)css";

std::string frame(const std::string& title, const std::string& body) {
  return "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
         "content=\"width=device-width,initial-scale=1\"><title>" +
         escape(title) + "</title><style>" + style +
         "</style></head><body><header>PayPal <span class=\"muted\" style=\"color:#cfe0ff\">"
         "sandbox (psp-sandbox)</span></header><main>" +
         body + "</main></body></html>";
}

}  // namespace

std::string approval_html(const approval_view& v) {
  std::string body = "<p class=\"muted\">Logged in as <strong id=\"buyer\">" +
                     escape(v.buyer_email) + "</strong></p><p>Pay " + escape(v.merchant) +
                     "</p><div class=\"amount\" id=\"amount\">" + escape(v.amount) + " " +
                     escape(v.currency) + "</div><p class=\"muted\">Order <span id=\"order\">" +
                     escape(v.order_id) + "</span></p>";
  if (!v.approvable)
    return frame("PayPal checkout", body + "<p id=\"status\">This order is " + escape(v.status) +
                                        " and cannot be approved again.</p>");
  body +=
      "<form method=\"post\" action=\"/paypal/checkoutnow\">"
      "<input type=\"hidden\" name=\"token\" value=\"" +
      escape(v.order_id) +
      "\"><label for=\"funding\">Pay with</label><select id=\"funding\" name=\"funding\">"
      "<option value=\"balance\" selected>PayPal balance</option>"
      "<option value=\"deny_capture\">Bank account (capture will be declined)</option>"
      "<option value=\"pending_capture\">eCheck (capture pending, completes later)</option>"
      "</select><button id=\"approve\" type=\"submit\" name=\"action\" value=\"approve\">"
      "Approve</button><button id=\"cancel\" type=\"submit\" name=\"action\" "
      "value=\"cancel\">Cancel and return to merchant</button></form>";
  return frame("PayPal checkout", body);
}

std::string message_html(const std::string& title, const std::string& text) {
  return frame(title, "<h1 id=\"title\">" + escape(title) + "</h1><p id=\"message\">" +
                          escape(text) + "</p>");
}

}  // namespace pay::sandbox::paypal
