#include "sandbox/params.hpp"

#include <algorithm>

namespace pay::sandbox {

namespace {

std::string_view top_name(std::string_view key) {
  return key.substr(0, key.find('['));
}

}  // namespace

std::optional<std::string> params::get(std::string_view key) const {
  for (const auto& [k, v] : fields_)
    if (k == key) return v;
  return std::nullopt;
}

std::vector<std::string> params::top_level_names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : fields_) {
    std::string name{top_name(k)};
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> params::nested(std::string_view name) const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [k, v] : fields_) {
    if (k.size() < name.size() + 2 || k.compare(0, name.size(), name) != 0 ||
        k[name.size()] != '[' || k.back() != ']')
      continue;
    out.emplace_back(k.substr(name.size() + 1, k.size() - name.size() - 2), v);
  }
  return out;
}

std::vector<std::string> params::list(std::string_view name) const {
  std::vector<std::string> out;
  for (auto& [index, value] : nested(name)) {
    if (index.empty() ||
        std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; }))
      out.push_back(value);
  }
  return out;
}

std::optional<std::string> params::first_unknown(
    std::initializer_list<std::string_view> allowed) const {
  for (const auto& name : top_level_names())
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) return name;
  return std::nullopt;
}

std::string params::canonical() const {
  auto sorted = fields_;
  std::sort(sorted.begin(), sorted.end());
  return net::encode_form(sorted);
}

}  // namespace pay::sandbox
