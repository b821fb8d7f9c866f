// Internal to edge's config loader: a TOML checker that collects `file:line:col: message`
// errors (config.cpp and config_ike.cpp share it).
#pragma once

#include <toml++/toml.h>

#include <algorithm>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip.hpp"

namespace braid::edge::detail {

using KeyList = std::initializer_list<std::string_view>;

inline std::string typeName(toml::node_type t) {
  switch (t) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

inline std::string joinPath(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// Collects every problem with its position; the loader reports them all at once.
class Checker {
 public:
  explicit Checker(std::string_view file) : file_(file) {}

  std::string where(const toml::source_region& r) const {
    std::ostringstream os;
    os << file_ << ':' << r.begin.line << ':' << r.begin.column;
    return os.str();
  }
  void error(const toml::source_region& r, const std::string& msg) {
    errors_.push_back(where(r) + ": " + msg);
  }
  void error(const toml::node& n, const std::string& msg) { error(n.source(), msg); }
  const std::vector<std::string>& errors() const { return errors_; }

  void allowOnly(const toml::table& t, const std::string& path, KeyList keys) {
    for (auto&& [k, v] : t) {
      if (std::find(keys.begin(), keys.end(), k.str()) != keys.end()) continue;
      std::string expected;
      for (auto key : keys) expected += (expected.empty() ? "" : ", ") + std::string(key);
      error(k.source(),
            "unknown key '" + joinPath(path, k.str()) + "'; expected one of: " + expected);
    }
  }

  const toml::node* node(const toml::table& t, const std::string& path, std::string_view key,
                         bool required, toml::node_type type, std::string_view what) {
    const toml::node* n = t.get(key);
    if (n == nullptr) {
      if (required) {
        error(t.source(),
              "missing required key '" + joinPath(path, key) + "'; expected " + std::string(what));
      }
      return nullptr;
    }
    if (n->type() != type) {
      error(*n, "'" + joinPath(path, key) + "' is " + typeName(n->type()) + "; expected " +
                    std::string(what));
      return nullptr;
    }
    return n;
  }

  std::optional<std::string> str(const toml::table& t, const std::string& path,
                                 std::string_view key, bool required, std::string_view what) {
    const toml::node* n = node(t, path, key, required, toml::node_type::string, what);
    if (n == nullptr) return std::nullopt;
    return std::string(n->as_string()->get());
  }

  std::optional<int64_t> integer(const toml::table& t, const std::string& path,
                                 std::string_view key, bool required, int64_t lo, int64_t hi) {
    std::string what = "an integer in " + std::to_string(lo) + ".." + std::to_string(hi);
    const toml::node* n = node(t, path, key, required, toml::node_type::integer, what);
    if (n == nullptr) return std::nullopt;
    int64_t v = n->as_integer()->get();
    if (v < lo || v > hi) {
      error(*n, "'" + joinPath(path, key) + "' = " + std::to_string(v) +
                    " is out of range; expected " + what);
      return std::nullopt;
    }
    return v;
  }

  std::optional<bool> boolean(const toml::table& t, const std::string& path, std::string_view key) {
    const toml::node* n = node(t, path, key, false, toml::node_type::boolean, "true or false");
    if (n == nullptr) return std::nullopt;
    return n->as_boolean()->get();
  }

  const toml::table* table(const toml::table& t, const std::string& path, std::string_view key,
                           bool required, std::string_view what) {
    const toml::node* n = node(t, path, key, required, toml::node_type::table, what);
    return n == nullptr ? nullptr : n->as_table();
  }

  const toml::array* array(const toml::table& t, const std::string& path, std::string_view key,
                           bool required, std::string_view what) {
    const toml::node* n = node(t, path, key, required, toml::node_type::array, what);
    if (n == nullptr) return nullptr;
    if (required && n->as_array()->empty()) {
      error(*n, "'" + joinPath(path, key) + "' is empty; expected " + std::string(what));
      return nullptr;
    }
    return n->as_array();
  }

  // Position of the `offset`-th character inside a single-line basic string node.
  std::string whereInString(const toml::node& n, size_t offset) const {
    std::ostringstream os;
    os << file_ << ':' << n.source().begin.line << ':' << (n.source().begin.column + 1 + offset);
    return os.str();
  }
  void errorAt(const std::string& where, const std::string& msg) {
    errors_.push_back(where + ": " + msg);
  }

  std::optional<IpAddress> address(const toml::table& t, const std::string& path,
                                   std::string_view key, bool required) {
    auto s = str(t, path, key, required, "an IPv4 or IPv6 address string");
    if (!s) return std::nullopt;
    auto a = IpAddress::parse(*s);
    if (!a || a->isUnspecified()) {
      error(*t.get(key), "'" + joinPath(path, key) + "' = \"" + *s +
                             "\" is not a usable address; expected a specific IPv4 or IPv6 "
                             "address such as \"192.0.2.1\"");
      return std::nullopt;
    }
    return a;
  }

  // A number of seconds (integer or float) in lo..hi.
  std::optional<double> seconds(const toml::table& t, const std::string& path, std::string_view key,
                                double lo, double hi) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return std::nullopt;
    std::ostringstream range;
    range << lo << ".." << hi;
    std::string what = "a number of seconds in " + range.str();
    double v = 0;
    if (n->is_integer()) {
      v = static_cast<double>(n->as_integer()->get());
    } else if (n->is_floating_point()) {
      v = n->as_floating_point()->get();
    } else {
      error(*n, "'" + joinPath(path, key) + "' is " + typeName(n->type()) + "; expected " + what);
      return std::nullopt;
    }
    if (!(v >= lo && v <= hi)) {
      std::ostringstream os;
      os << v;
      error(*n,
            "'" + joinPath(path, key) + "' = " + os.str() + " is out of range; expected " + what);
      return std::nullopt;
    }
    return v;
  }

  // A string, or a non-empty array of strings; each element with its node and path.
  struct LocatedString {
    std::string text;
    const toml::node* node;
    std::string path;
  };
  std::vector<LocatedString> stringList(const toml::table& t, const std::string& path,
                                        std::string_view key, std::string_view what) {
    std::vector<LocatedString> out;
    const toml::node* n = t.get(key);
    if (n == nullptr) return out;
    const std::string p = joinPath(path, key);
    if (n->is_string()) {
      out.push_back({std::string(n->as_string()->get()), n, p});
      return out;
    }
    if (!n->is_array() || n->as_array()->empty()) {
      error(*n, "'" + p + "' is " + (n->is_array() ? std::string("empty") : typeName(n->type())) +
                    "; expected " + std::string(what));
      return out;
    }
    const toml::array& arr = *n->as_array();
    for (size_t i = 0; i < arr.size(); ++i) {
      const toml::node& e = *arr.get(i);
      std::string ep = p + "[" + std::to_string(i) + "]";
      if (!e.is_string()) {
        error(e, "'" + ep + "' is " + typeName(e.type()) + "; expected a string");
        continue;
      }
      out.push_back({std::string(e.as_string()->get()), &e, ep});
    }
    return out;
  }

  // An array of prefix strings, each remembered with its node for later cross checks.
  struct LocatedPrefix {
    IpPrefix prefix;
    const toml::node* node;
    std::string path;
  };
  std::vector<LocatedPrefix> prefixes(const toml::table& t, const std::string& path,
                                      std::string_view key, bool required = true) {
    std::vector<LocatedPrefix> out;
    const toml::array* arr =
        array(t, path, key, required, "a non-empty array of prefixes such as [\"10.1.0.0/16\"]");
    if (arr == nullptr) return out;
    for (size_t i = 0; i < arr->size(); ++i) {
      const toml::node& n = *arr->get(i);
      std::string p = joinPath(path, key) + "[" + std::to_string(i) + "]";
      if (!n.is_string()) {
        error(n, "'" + p + "' is " + typeName(n.type()) + "; expected a prefix string");
        continue;
      }
      std::string text(n.as_string()->get());
      auto prefix = IpPrefix::parse(text);
      if (!prefix) {
        error(n, "'" + p + "' = \"" + text +
                     "\" is not a valid prefix; expected address/length with no host bits set, "
                     "such as \"10.1.0.0/16\"");
        continue;
      }
      out.push_back({*prefix, &n, p});
    }
    return out;
  }

 private:
  std::string file_;
  std::vector<std::string> errors_;
};

}  // namespace braid::edge::detail

#include "edge/config.hpp"

namespace braid::edge::detail {

// [ike] (config_ike.cpp).
void parseIkeGlobal(Checker& c, const toml::table& root, IkeGlobalConfig& out);
// [pathmon], [policy], [[class]], [[rule]] (config_multipath.cpp), after [[uplink]].
void parseMultipath(Checker& c, const toml::table& root, const std::vector<UplinkConfig>& uplinks,
                    MultipathConfig& out);
// [[remote_access]] (config_remote_access.cpp), after [[peer]]: pools must not overlap the
// site's subnets, the peers' remote subnets or each other.
void parseRemoteAccess(Checker& c, const toml::table& root, const std::string& baseDir,
                       Config& cfg);
// [peer.ike] at `path`; relative file names are resolved against `baseDir`. The overlay's
// local subnets and the peer's remote subnets bound (and default) the traffic selectors.
// `caRequired` false: ca_certificates may be missing (peers that never show a certificate,
// e.g. EAP-MSCHAPv2 clients).
std::optional<PeerIkeConfig> parsePeerIke(Checker& c, const toml::table& t, const std::string& path,
                                          const std::string& baseDir,
                                          const std::vector<IpPrefix>& overlayLocal,
                                          const std::vector<IpPrefix>& peerRemote,
                                          bool caRequired = true);

}  // namespace braid::edge::detail
