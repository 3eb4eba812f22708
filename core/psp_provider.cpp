#include "core/psp_provider.hpp"

#include <algorithm>

namespace pay::core {

bool psp_registry::add(psp_provider provider, const std::vector<std::string>& aliases) {
  std::vector<std::string> names{provider.name};
  names.insert(names.end(), aliases.begin(), aliases.end());
  for (const auto& n : names)
    if (n.empty() || find(n) != nullptr || std::count(names.begin(), names.end(), n) != 1)
      return false;
  auto p = std::make_shared<const psp_provider>(std::move(provider));
  providers_.push_back(p);
  for (auto& n : names) by_name_.emplace_back(std::move(n), p);
  return true;
}

const psp_provider* psp_registry::find(std::string_view name) const {
  for (const auto& [n, p] : by_name_)
    if (n == name) return p.get();
  return nullptr;
}

std::vector<std::string> psp_registry::names() const {
  std::vector<std::string> out;
  for (const auto& p : providers_) out.push_back(p->name);
  return out;
}

const psp_provider* psp_registry::default_provider() const {
  return providers_.empty() ? nullptr : providers_.front().get();
}

}  // namespace pay::core
