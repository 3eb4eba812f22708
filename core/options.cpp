#include "core/options.hpp"

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace pay::core {

namespace {

const option_spec* find_spec(const std::vector<option_spec>& specs, std::string_view name) {
  for (const auto& s : specs)
    if (s.name == name) return &s;
  return nullptr;
}

result<std::string> read_secret_file(const std::string& path, const std::string& name) {
  std::ifstream in(path);
  if (!in)
    return make_error(errc::invalid_request, "cannot read --" + name + "-file " + path, name);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string value = ss.str();
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  return value;
}

bool is_integer(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && p == s.data() + s.size();
}

}  // namespace

const std::string& option_values::get(std::string_view name) const {
  static const std::string empty;
  auto it = values_.find(name);
  return it == values_.end() ? empty : it->second;
}

std::int64_t option_values::get_int(std::string_view name) const {
  const auto& s = get(name);
  std::int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

bool option_values::get_bool(std::string_view name) const {
  const auto& s = get(name);
  return s == "1" || s == "true" || s == "yes" || s == "on";
}

result<option_values> parse_options(
    const std::vector<option_spec>& specs, const std::vector<std::string>& args,
    const std::function<std::optional<std::string>(const std::string&)>& getenv) {
  option_values out;
  for (const auto& s : specs) {
    out.values_[s.name] = s.default_value;
    if (!s.env.empty())
      if (auto v = getenv(s.env)) out.values_[s.name] = *v;
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      out.help_ = true;
      continue;
    }
    if (!arg.starts_with("--"))
      return make_error(errc::invalid_request, "unexpected argument '" + std::string(arg) + "'");
    arg.remove_prefix(2);
    std::optional<std::string> inline_value;
    if (auto eq = arg.find('='); eq != std::string_view::npos) {
      inline_value = std::string(arg.substr(eq + 1));
      arg = arg.substr(0, eq);
    }
    bool from_file = false;
    const option_spec* spec = find_spec(specs, arg);
    if (spec == nullptr && arg.ends_with("-file")) {
      spec = find_spec(specs, arg.substr(0, arg.size() - 5));
      from_file = spec != nullptr && spec->secret;
      if (!from_file) spec = nullptr;
    }
    if (spec == nullptr)
      return make_error(errc::invalid_request, "unknown option --" + std::string(arg));
    if (spec->is_switch && !from_file) {
      out.values_[spec->name] = inline_value.value_or("true");
      continue;
    }
    std::string value;
    if (inline_value) {
      value = *inline_value;
    } else {
      if (i + 1 >= args.size())
        return make_error(errc::invalid_request, "option --" + std::string(arg) + " needs a value");
      value = args[++i];
    }
    if (spec->secret && !from_file)
      return make_error(errc::invalid_request,
                        "--" + spec->name + " is a secret: set " +
                            (spec->env.empty() ? std::string("it") : spec->env) + " or use --" +
                            spec->name + "-file PATH",
                        spec->name);
    if (from_file) {
      auto content = read_secret_file(value, spec->name);
      if (!content) return content.err();
      value = std::move(*content);
    }
    out.values_[spec->name] = std::move(value);
  }
  for (const auto& s : specs)
    if (!s.default_value.empty() && is_integer(s.default_value) && !is_integer(out.get(s.name)))
      return make_error(errc::invalid_request,
                        "--" + s.name + " must be an integer, got '" + out.get(s.name) + "'",
                        s.name);
  return out;
}

std::string render_help(std::string_view program, std::string_view summary,
                        const std::vector<option_spec>& specs) {
  std::string out = "Usage: " + std::string(program) + " [options]\n\n" + std::string(summary) +
                    "\n\nOptions (flag / environment variable, default):\n";
  for (const auto& s : specs) {
    out += "  --" + s.name;
    if (!s.is_switch) out += s.secret ? "-file PATH" : " VALUE";
    out += "\n      " + s.help + "\n      ";
    if (!s.env.empty()) out += "env " + s.env + "; ";
    if (s.secret)
      out += "(secret: env or file only)";
    else
      out += "default: " + (s.default_value.empty() ? std::string("(none)") : s.default_value);
    out += "\n";
  }
  out += "  --help\n      Print this help and exit.\n";
  return out;
}

std::optional<std::string> process_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

}  // namespace pay::core
